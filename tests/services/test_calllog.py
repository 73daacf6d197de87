"""CDRs through units of work: opened at call start, closed at the end, crash leftovers failed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from fakes import FakeStore
from waterline.domain.callrecords import CallOutcome, CallRecord, HangupSide, PathStep
from waterline.services.calllog import CRASH_CAUSE, close_call, fail_open_calls, open_call
from waterline.services.ports import CallFilter

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _record(call_id: str = "c-1") -> CallRecord:
    return CallRecord(call_id=call_id, caller="13991234567", did="4006360888", started_at=T0,
                      flow_name="default", flow_version=2)


def test_open_then_close_keeps_the_row_and_fills_it(store: FakeStore) -> None:
    open_call(store.uow(), _record())
    open_call(store.uow(), _record())  # a retry does not add a second row
    final = replace(_record(), ended_at=T0 + timedelta(seconds=30), outcome=CallOutcome.ORDER_PLACED,
                    hangup_side=HangupSide.SYSTEM, hangup_cause="normal", order_id=5, recording_id=9,
                    digits="11", path=[PathStep("welcome", "play", T0)], region_city="西安市")
    closed = close_call(store.uow(), final)
    with store.uow() as uow:
        [row] = uow.calls.search(CallFilter())
    assert row.id == closed.id
    assert (row.outcome, row.order_id, row.recording_id, row.digits) == (CallOutcome.ORDER_PLACED, 5, 9, "11")
    assert row.total_seconds == 30.0 and not row.is_open and row.region_city == "西安市"
    # closing again changes nothing
    again = close_call(store.uow(), replace(final, outcome=CallOutcome.FAILED))
    assert again.outcome is CallOutcome.ORDER_PLACED


def test_close_without_an_open_row_writes_a_closed_one(store: FakeStore) -> None:
    final = replace(_record("c-2"), ended_at=T0 + timedelta(seconds=3), outcome=CallOutcome.ABANDONED,
                    hangup_side=HangupSide.CALLER)
    closed = close_call(store.uow(), final)
    assert closed.id is not None and closed.hangup_side is HangupSide.CALLER


def test_open_calls_are_failed_after_a_crash(store: FakeStore) -> None:
    open_call(store.uow(), _record("c-3"))
    open_call(store.uow(), _record("c-4"))
    close_call(store.uow(), replace(_record("c-4"), ended_at=T0 + timedelta(seconds=1),
                                    outcome=CallOutcome.ABANDONED, hangup_side=HangupSide.CALLER))
    assert fail_open_calls(store.uow(), T0 + timedelta(minutes=5)) == 1
    with store.uow() as uow:
        row = uow.calls.get_by_call_id("c-3")
        assert uow.calls.open_records() == []
    assert row is not None
    assert (row.outcome, row.hangup_cause, row.total_seconds) == (CallOutcome.FAILED, CRASH_CAUSE, 300.0)
    assert fail_open_calls(store.uow(), T0) == 0
