"""Call detail records as the API shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from waterline.domain.callrecords import CallOutcome, CallRecord, HangupSide, PathStep


class PathStepOut(BaseModel):
    """One node the flow went through."""

    node: str
    kind: str
    at: datetime
    digits: str
    detail: str

    @classmethod
    def of(cls, step: PathStep) -> PathStepOut:
        """The API view of ``step``."""
        return cls(node=step.node, kind=step.kind, at=step.at, digits=step.digits, detail=step.detail)


class CallOut(BaseModel):
    """A call record; ``outcome`` and ``ended_at`` are null while the call is up (or was lost)."""

    id: int
    call_id: str
    caller: str
    did: str
    region_city: str | None
    region_source: str | None
    flow_name: str | None
    flow_version: int | None
    customer_id: int | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    digits: str
    queue: str | None
    agent: str | None
    wait_seconds: float
    talk_seconds: float
    total_seconds: float
    outcome: CallOutcome | None
    hangup_side: HangupSide | None
    hangup_cause: str
    recording_id: int | None
    order_id: int | None
    recording_url: str | None

    @classmethod
    def fields_of(cls, record: CallRecord) -> dict[str, object]:
        """The common fields of ``record`` (the list and the detail view)."""
        assert record.id is not None
        return {
            "id": record.id, "call_id": record.call_id, "caller": record.caller, "did": record.did,
            "region_city": record.region_city, "region_source": record.region_source,
            "flow_name": record.flow_name, "flow_version": record.flow_version,
            "customer_id": record.customer_id, "started_at": record.started_at,
            "answered_at": record.answered_at, "ended_at": record.ended_at, "digits": record.digits,
            "queue": record.queue, "agent": record.agent, "wait_seconds": record.wait_seconds,
            "talk_seconds": record.talk_seconds, "total_seconds": record.total_seconds,
            "outcome": record.outcome, "hangup_side": record.hangup_side,
            "hangup_cause": record.hangup_cause, "recording_id": record.recording_id,
            "order_id": record.order_id,
            "recording_url": None if record.recording_id is None
            else f"/api/recordings/{record.recording_id}/audio",
        }

    @classmethod
    def of(cls, record: CallRecord) -> CallOut:
        """The list view of ``record``."""
        return cls.model_validate(cls.fields_of(record))


class CallDetailOut(CallOut):
    """A call record with the flow's path."""

    path: list[PathStepOut]

    @classmethod
    def of(cls, record: CallRecord) -> CallDetailOut:
        """The detail view of ``record``."""
        return cls.model_validate({**cls.fields_of(record), "path": [PathStepOut.of(s) for s in record.path]})
