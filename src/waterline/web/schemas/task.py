"""Call-back tasks and complaint tickets as the API shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from waterline.domain.tasks import Complaint, Task, TaskKind, TaskState


class TaskOut(BaseModel):
    """A task; ``recording_url`` plays the voicemail of a missed-call task."""

    id: int
    kind: TaskKind
    state: TaskState
    caller: str
    call_id: str | None
    customer_id: int | None
    recording_id: int | None
    recording_url: str | None
    note: str
    created_at: datetime
    done_at: datetime | None
    done_by: int | None

    @classmethod
    def of(cls, task: Task) -> TaskOut:
        """The API view of ``task``."""
        assert task.id is not None
        return cls(
            id=task.id, kind=task.kind, state=task.state, caller=task.caller, call_id=task.call_id,
            customer_id=task.customer_id, recording_id=task.recording_id,
            recording_url=None if task.recording_id is None else f"/api/recordings/{task.recording_id}/audio",
            note=task.note, created_at=task.created_at, done_at=task.done_at, done_by=task.done_by,
        )


class ComplaintOut(BaseModel):
    """A complaint ticket and the call it came from."""

    id: int
    reason: str
    caller: str
    call_id: str | None
    customer_id: int | None
    note: str
    created_at: datetime

    @classmethod
    def of(cls, complaint: Complaint) -> ComplaintOut:
        """The API view of ``complaint``."""
        assert complaint.id is not None
        return cls(id=complaint.id, reason=complaint.reason, caller=complaint.caller,
                   call_id=complaint.call_id, customer_id=complaint.customer_id, note=complaint.note,
                   created_at=complaint.created_at)
