"""An agent's own calls of a period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fakes import FakeStore
from waterline.domain.callrecords import CallRecord
from waterline.services import agentcalls
from waterline.services.agentcalls import calls_of_agent

DAY = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # 00:00 in Beijing


def add(store: FakeStore, call_id: str, at: datetime, agent: str | None) -> None:
    with store.uow() as uow:
        uow.calls.add(CallRecord(call_id=call_id, caller="13991001234", did="4006360888", started_at=at,
                                 agent=agent))
        uow.commit()


def test_only_his_calls_in_the_period_newest_first() -> None:
    store = FakeStore()
    add(store, "a", DAY + timedelta(hours=1), "kefu01")
    add(store, "b", DAY + timedelta(hours=3), "kefu01")
    add(store, "c", DAY + timedelta(hours=2), "kefu02")
    add(store, "d", DAY + timedelta(hours=2), None)
    add(store, "e", DAY - timedelta(seconds=1), "kefu01")
    add(store, "f", DAY + timedelta(days=1), "kefu01")
    found = calls_of_agent(store.uow(), "kefu01", start=DAY, end=DAY + timedelta(days=1))
    assert [r.call_id for r in found] == ["b", "a"]


def test_pages_through_a_busy_day(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(agentcalls, "PAGE", 3)
    store = FakeStore()
    for n in range(10):
        add(store, f"c{n}", DAY + timedelta(minutes=n), "kefu01" if n % 2 else "kefu02")
    found = calls_of_agent(store.uow(), "kefu01", start=DAY, end=DAY + timedelta(days=1))
    assert [r.call_id for r in found] == ["c9", "c7", "c5", "c3", "c1"]
