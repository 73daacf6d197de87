"""The engine's CDR writer: a flow call's summary becomes the stored call record."""

from __future__ import annotations

from datetime import UTC, datetime

from fakes import FakeStore
from waterline.domain.callrecords import CallOutcome, HangupSide
from waterline.telephony.callflow import CallSummary
from waterline.telephony.cdr import CdrWriter, record_of

T0 = 1_795_600_000.0


def _summary(**changes: object) -> CallSummary:
    base: dict[str, object] = dict(
        call_id="c-1", caller="09173216549", did="4006360888", flow_name="default", flow_version=2,
        started_at=T0, answered_at=T0 + 0.01,
        path=({"node": "welcome", "kind": "play", "at": T0, "digits": "", "detail": ""},
              {"node": "identify", "kind": "identify", "at": T0 + 9.3, "digits": "", "detail": ""}),
        variables={"customer.region_city": "宝鸡市", "customer.region_source": "area_code",
                   "customer.customer_id": None, "company": "x"},
    )
    base.update(changes)
    return CallSummary(**base)  # type: ignore[arg-type]


def test_an_open_summary_is_an_open_record_with_the_region() -> None:
    record = record_of(_summary())
    assert record.is_open and record.outcome is None
    assert (record.region_city, record.region_source, record.customer_id) == ("宝鸡市", "area_code", None)
    assert record.started_at == datetime.fromtimestamp(T0, UTC)
    assert [(s.node, s.at) for s in record.path] == [
        ("welcome", datetime.fromtimestamp(T0, UTC)), ("identify", datetime.fromtimestamp(T0 + 9.3, UTC))]


def test_writer_opens_and_closes_one_record() -> None:
    store = FakeStore()
    writer = CdrWriter(store.uow)
    writer.opened(_summary())
    writer.closed(_summary(ended_at=T0 + 12, outcome="abandoned", hangup_side="caller", hangup_cause="bye",
                           digits="", order_id=None), recording_id=4)
    with store.uow() as uow:
        record = uow.calls.get_by_call_id("c-1")
    assert record is not None and not record.is_open
    assert (record.outcome, record.hangup_side, record.recording_id) == (CallOutcome.ABANDONED,
                                                                         HangupSide.CALLER, 4)
    assert record.total_seconds == 12.0


def test_a_call_without_outcome_is_closed_as_failed_and_crash_leftovers_too() -> None:
    store = FakeStore()
    writer = CdrWriter(store.uow)
    writer.closed(_summary(call_id="c-2", ended_at=T0 + 1))
    writer.opened(_summary(call_id="c-3"))
    assert writer.recover(datetime.fromtimestamp(T0 + 60, UTC)) == 1
    with store.uow() as uow:
        two, three = uow.calls.get_by_call_id("c-2"), uow.calls.get_by_call_id("c-3")
    assert two is not None and two.outcome is CallOutcome.FAILED and two.hangup_side is HangupSide.SYSTEM
    assert three is not None and three.outcome is CallOutcome.FAILED
