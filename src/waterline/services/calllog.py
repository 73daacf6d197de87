"""Call detail records through units of work: open at call start, close at call end, and close the
calls a crash left open as ``failed`` when the telephony engine starts again."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from waterline.domain.callrecords import CallOutcome, CallRecord, HangupSide
from waterline.services.ports import UnitOfWork

__all__ = ["CRASH_CAUSE", "close_call", "fail_open_calls", "open_call"]

CRASH_CAUSE = "engine-restart"


def open_call(uow: UnitOfWork, record: CallRecord) -> None:
    """Write the open record of a call that just arrived (nothing if its call id is recorded already)."""
    with uow:
        if uow.calls.get_by_call_id(record.call_id) is None:
            uow.calls.add(replace(record, ended_at=None, outcome=None, hangup_side=None))
            uow.commit()


def close_call(uow: UnitOfWork, final: CallRecord) -> CallRecord:
    """Close the call's record with everything ``final`` says (``final.ended_at`` and ``outcome`` set).

    The open record, if there is one, keeps its id and start; a call whose open record was never
    written (the store was down at its start) gets a closed record now.
    """
    if final.ended_at is None or final.outcome is None:
        raise ValueError("close_call needs ended_at and outcome")
    with uow:
        record = uow.calls.get_by_call_id(final.call_id)
        if record is not None and not record.is_open:
            return record  # closed already (a retry after a commit that did land)
        merged = replace(final, ended_at=None, outcome=None, hangup_side=None,
                         id=None if record is None else record.id,
                         started_at=final.started_at if record is None else record.started_at)
        merged.close(ended_at=final.ended_at, outcome=final.outcome,
                     hangup_side=final.hangup_side or HangupSide.SYSTEM, hangup_cause=final.hangup_cause,
                     wait_seconds=final.wait_seconds, talk_seconds=final.talk_seconds)
        if record is None:
            merged = uow.calls.add(merged)
        else:
            uow.calls.save(merged)
        uow.commit()
        return merged


def fail_open_calls(uow: UnitOfWork, now: datetime) -> int:
    """Close every open record as ``failed`` (their calls died with the previous engine); returns how many."""
    with uow:
        records = uow.calls.open_records()
        for record in records:
            record.close(ended_at=max(now, record.started_at), outcome=CallOutcome.FAILED,
                         hangup_side=HangupSide.SYSTEM, hangup_cause=CRASH_CAUSE)
            uow.calls.save(record)
        uow.commit()
    return len(records)
