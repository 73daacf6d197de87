"""/api/calls: the call log with filters and paging, one call with its path, roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from waterline.domain.callrecords import CallOutcome, CallRecord, HangupSide, PathStep

from .conftest import Shop

T0 = datetime(2026, 11, 24, 17, 30, tzinfo=UTC)  # 01:30 on the 25th in Xi'an


def _seed(shop: Shop) -> list[int]:
    ids: list[int] = []
    with shop.uow_factory() as uow:
        for n, outcome in enumerate([CallOutcome.ORDER_PLACED, CallOutcome.ABANDONED, None]):
            record = CallRecord(f"call-{n}", "13912345678" if n < 2 else "02988881234", "4006360888",
                                T0 + timedelta(hours=n * 12), flow_name="default", flow_version=1,
                                region_city="西安市", region_source="customer")
            record.path = [PathStep("welcome", "menu", record.started_at, digits="1")]
            if outcome is not None:
                record.recording_id = 3 if n == 0 else None
                record.close(ended_at=record.started_at + timedelta(seconds=40), outcome=outcome,
                             hangup_side=HangupSide.CALLER)
            uow.calls.add(record)
            assert record.id is not None
            ids.append(record.id)
        uow.commit()
    return ids


def test_list_filters_and_detail(shop: Shop) -> None:
    ids = _seed(shop)
    every = shop.get("/api/calls", as_user="manager")
    assert every.status_code == 200
    assert [c["call_id"] for c in every.json()] == ["call-2", "call-1", "call-0"]
    assert "path" not in every.json()[0]
    day = shop.get("/api/calls", as_user="manager", **{"from": "2026-11-25", "to": "2026-11-26"}).json()
    # local days: call-0 01:30 and call-1 13:30 on the 25th, call-2 01:30 on the 26th (UTC would differ)
    assert [c["call_id"] for c in day] == ["call-1", "call-0"]
    by_caller = shop.get("/api/calls", as_user="manager", caller="139-1234-5678").json()
    assert [c["call_id"] for c in by_caller] == ["call-1", "call-0"]
    abandoned = shop.get("/api/calls", as_user="manager", outcome="abandoned").json()
    assert [c["call_id"] for c in abandoned] == ["call-1"]
    page = shop.get("/api/calls", as_user="manager", limit=1, offset=1).json()
    assert [c["call_id"] for c in page] == ["call-1"]
    assert shop.get("/api/calls", as_user="manager", outcome="lost").status_code == 422
    detail = shop.get(f"/api/calls/{ids[0]}", as_user="dispatcher").json()
    assert detail["outcome"] == "order-placed" and detail["total_seconds"] == 40.0
    assert detail["path"][0]["node"] == "welcome" and detail["path"][0]["digits"] == "1"
    assert detail["recording_url"] == "/api/recordings/3/audio"
    open_call = shop.get(f"/api/calls/{ids[2]}", as_user="dispatcher").json()
    assert open_call["outcome"] is None and open_call["ended_at"] is None
    assert shop.get("/api/calls/99999", as_user="manager").status_code == 404
    assert shop.get("/api/calls", as_user="agent").status_code == 403
