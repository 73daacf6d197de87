"""Call detail records (CDRs): what happened on one call, written when it ends.

A record is opened at call start (so a crash leaves evidence) and closed with the outcome. Records
still open when the telephony engine starts again belonged to calls lost in a crash; they are closed
as ``failed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from waterline.domain.errors import Conflict


class CallOutcome(StrEnum):
    """How a call ended, from the business's point of view."""

    IVR_COMPLETED = "ivr-completed"
    ORDER_PLACED = "order-placed"
    VOICEMAIL = "voicemail"
    TRANSFERRED = "transferred"
    ABANDONED = "abandoned"
    BLOCKED = "blocked"
    FAILED = "failed"


class HangupSide(StrEnum):
    """Who ended the call."""

    CALLER = "caller"
    SYSTEM = "system"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class PathStep:
    """One node the flow went through: its id and kind, the digits pressed there, when, and a note."""

    node: str
    kind: str
    at: datetime
    digits: str = ""
    detail: str = ""


@dataclass
class CallRecord:
    """The CDR of one call; ``ended_at`` is None while the call is up (an open record)."""

    call_id: str
    caller: str
    did: str
    started_at: datetime
    flow_name: str | None = None
    flow_version: int | None = None
    region_city: str | None = None
    region_source: str | None = None
    customer_id: int | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    path: list[PathStep] = field(default_factory=list)
    digits: str = ""
    queue: str | None = None
    agent: str | None = None
    wait_seconds: float = 0.0
    talk_seconds: float = 0.0
    total_seconds: float = 0.0
    outcome: CallOutcome | None = None
    hangup_side: HangupSide | None = None
    hangup_cause: str = ""
    recording_id: int | None = None
    order_id: int | None = None
    id: int | None = None

    @property
    def is_open(self) -> bool:
        """True until the call has been closed."""
        return self.ended_at is None

    def close(
        self,
        *,
        ended_at: datetime,
        outcome: CallOutcome,
        hangup_side: HangupSide,
        hangup_cause: str = "",
        wait_seconds: float = 0.0,
        talk_seconds: float = 0.0,
    ) -> None:
        """End the record: ``total_seconds`` runs from start to ``ended_at`` (never negative).

        ``wait_seconds`` is the time queued for an agent, ``talk_seconds`` the time connected to an
        agent or transfer target; both 0 for a call the flow handled alone. Closing twice is a
        ``Conflict``: a CDR is written once.
        """
        if not self.is_open:
            raise Conflict("conflict", detail=f"call {self.call_id} is already closed")
        self.ended_at = ended_at
        self.outcome = outcome
        self.hangup_side = hangup_side
        self.hangup_cause = hangup_cause
        self.total_seconds = max((ended_at - self.started_at).total_seconds(), 0.0)
        self.wait_seconds = max(wait_seconds, 0.0)
        self.talk_seconds = max(talk_seconds, 0.0)
