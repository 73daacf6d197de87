"""Work the hotline leaves for people: call-back tasks (a voicemail, a missed call) and complaints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from waterline.domain.errors import Conflict


class TaskKind(StrEnum):
    """Why someone must act."""

    MISSED_CALL = "missed_call"
    # a courier could not deliver (nobody home, wrong address...): someone calls the customer
    DELIVERY_ISSUE = "delivery_issue"
    # a queued caller pressed 1 to be called back: the ACD calls an agent, then the customer; done when
    # they are connected, left open (for a person to ring back) when the customer could not be reached
    QUEUE_CALLBACK = "queue_callback"


class TaskState(StrEnum):
    """A task is open until someone marks it done."""

    OPEN = "open"
    DONE = "done"


@dataclass
class Task:
    """Something to do about a call, e.g. ring back a caller who left a voicemail."""

    kind: TaskKind
    caller: str
    created_at: datetime
    call_id: str | None = None
    customer_id: int | None = None
    recording_id: int | None = None
    note: str = ""
    state: TaskState = TaskState.OPEN
    done_at: datetime | None = None
    done_by: int | None = None
    id: int | None = None

    def mark_done(self, *, at: datetime, by: int | None) -> None:
        """Close the task; a task is done once (``Conflict`` the second time)."""
        if self.state is TaskState.DONE:
            raise Conflict("conflict", detail=f"task {self.id} is already done")
        self.state = TaskState.DONE
        self.done_at = at
        self.done_by = by


@dataclass
class Complaint:
    """A complaint ticket, linked to the call it came from."""

    reason: str
    caller: str
    created_at: datetime
    call_id: str | None = None
    customer_id: int | None = None
    note: str = ""
    id: int | None = None
