"""The engine's CDR writer: a flow call's :class:`~waterline.telephony.callflow.CallSummary` becomes a
:class:`~waterline.domain.callrecords.CallRecord`, opened at call start and closed at its end through
:mod:`waterline.services.calllog` (blocking: the flow host calls it in a worker thread)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from waterline.domain.callrecords import CallOutcome, CallRecord, HangupSide, PathStep
from waterline.services.calllog import close_call, fail_open_calls, open_call
from waterline.services.ports import UnitOfWork
from waterline.telephony.callflow import CallSummary

__all__ = ["CdrWriter", "record_of"]

_SIDES = {"caller": HangupSide.CALLER, "flow": HangupSide.SYSTEM, "system": HangupSide.SYSTEM,
          "agent": HangupSide.AGENT}


def _at(unix: float | None) -> datetime | None:
    return None if unix is None else datetime.fromtimestamp(unix, UTC)


def _variable(variables: Mapping[str, object], name: str) -> object | None:
    """A flow variable by its last dotted part (the flow stores request results as ``<into>.<key>``)."""
    if name in variables:
        return variables[name]
    for key, value in variables.items():
        if key.rsplit(".", 1)[-1] == name and value not in (None, ""):
            return value
    return None


def _str(value: object | None) -> str | None:
    return None if value in (None, "") else str(value)


def _int(value: object | None) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def record_of(summary: CallSummary, recording_id: int | None = None) -> CallRecord:
    """The CDR of ``summary`` (closed when the summary has ``ended_at`` and an outcome)."""
    started = _at(summary.started_at) or datetime.now(UTC)
    outcome = CallOutcome(summary.outcome) if summary.outcome in set(CallOutcome) else None
    ended = _at(summary.ended_at)
    path = [
        PathStep(node=str(step.get("node", "")), kind=str(step.get("kind", "")),
                 at=_at(float(str(step.get("at")))) or started, digits=str(step.get("digits") or ""),
                 detail=str(step.get("detail") or ""))
        for step in summary.path
    ]
    variables = summary.variables
    talk = summary.talk_seconds
    return CallRecord(
        call_id=summary.call_id, caller=summary.caller, did=summary.did, started_at=started,
        flow_name=summary.flow_name, flow_version=summary.flow_version,
        region_city=_str(_variable(variables, "region_city")),
        region_source=_str(_variable(variables, "region_source")),
        customer_id=_int(_variable(variables, "customer_id")),
        answered_at=_at(summary.answered_at), ended_at=ended if outcome is not None else None,
        path=path, digits=summary.digits, outcome=outcome,
        hangup_side=_SIDES.get(summary.hangup_side or "", HangupSide.SYSTEM) if outcome else None,
        hangup_cause=summary.hangup_cause or "", talk_seconds=talk,
        recording_id=recording_id, order_id=summary.order_id,
        queue=summary.queue, agent=summary.agent, wait_seconds=summary.wait_seconds,
    )


class CdrWriter:
    """Implements the flow host's ``CallRecords`` on units of work."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork]) -> None:
        self.uow_factory = uow_factory

    def opened(self, summary: CallSummary) -> None:
        """The call arrived."""
        open_call(self.uow_factory(), record_of(summary))

    def closed(self, summary: CallSummary, recording_id: int | None = None) -> None:
        """The call ended (``summary.outcome`` None is recorded as ``failed``)."""
        record = record_of(summary, recording_id)
        if record.outcome is None:
            record.outcome = CallOutcome.FAILED
            record.hangup_side = HangupSide.SYSTEM
        if record.ended_at is None:
            record.ended_at = _at(summary.ended_at) or datetime.now(UTC)
        close_call(self.uow_factory(), record)

    def recover(self, now: datetime) -> int:
        """Close the calls a crash left open, as ``failed`` (engine start)."""
        return fail_open_calls(self.uow_factory(), now)
