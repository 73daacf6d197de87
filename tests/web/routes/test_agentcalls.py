"""GET /api/agents/me/calls: the logged-in agent's calls of a day."""

from __future__ import annotations

from datetime import datetime, timedelta

from waterline.domain.callrecords import CallRecord

from .conftest import Shop


def record(call_id: str, at: datetime, agent: str | None) -> CallRecord:
    return CallRecord(call_id=call_id, caller="13912345678", did="4006360888", started_at=at, agent=agent,
                      queue="yanta-orders" if agent else None)


def test_an_agent_sees_his_own_calls_of_the_day(shop: Shop) -> None:
    now = shop.clock.now()
    # local (Asia/Shanghai) midnight of today, in UTC
    beijing = now + timedelta(hours=8)
    local_midnight = beijing.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(hours=8)
    with shop.uow_factory() as uow:
        uow.calls.add(record("mine-1", local_midnight + timedelta(minutes=5), "agent"))
        uow.calls.add(record("mine-2", local_midnight + timedelta(hours=2), "agent"))
        uow.calls.add(record("other", local_midnight + timedelta(hours=1), "kefu02"))
        uow.calls.add(record("ivr-only", local_midnight + timedelta(hours=1), None))
        uow.calls.add(record("yesterday", local_midnight - timedelta(minutes=5), "agent"))
        uow.commit()
    mine = shop.get("/api/agents/me/calls", as_user="agent")
    assert mine.status_code == 200, mine.text
    assert [c["call_id"] for c in mine.json()] == ["mine-2", "mine-1"]
    yesterday = (local_midnight + timedelta(hours=8) - timedelta(days=1)).date()
    earlier = shop.get("/api/agents/me/calls", as_user="agent", day=str(yesterday)).json()
    assert [c["call_id"] for c in earlier] == ["yesterday"]
    assert shop.get("/api/agents/me/calls", as_user="courier").status_code == 403
