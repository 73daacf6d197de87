"""Task schemas: a voicemail task links its recording."""

from __future__ import annotations

from datetime import UTC, datetime

from waterline.domain.tasks import Complaint, Task, TaskKind
from waterline.web.schemas.task import ComplaintOut, TaskOut

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def test_task_and_complaint_views() -> None:
    task = TaskOut.of(Task(TaskKind.MISSED_CALL, "13912345678", T0, recording_id=3, id=1))
    assert task.recording_url == "/api/recordings/3/audio" and task.state == "open"
    assert TaskOut.of(Task(TaskKind.MISSED_CALL, "13912345678", T0, id=2)).recording_url is None
    complaint = ComplaintOut.of(Complaint("late", "13912345678", T0, call_id="c1", id=4))
    assert (complaint.id, complaint.reason, complaint.call_id) == (4, "late", "c1")
