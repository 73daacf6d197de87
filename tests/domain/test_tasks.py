from __future__ import annotations

from datetime import UTC, datetime

import pytest

from waterline.domain.errors import Conflict
from waterline.domain.tasks import Task, TaskKind, TaskState

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def test_mark_done_once() -> None:
    task = Task(TaskKind.MISSED_CALL, "13912345678", T0, recording_id=4)
    task.mark_done(at=T0, by=2)
    assert (task.state, task.done_at, task.done_by) == (TaskState.DONE, T0, 2)
    with pytest.raises(Conflict):
        task.mark_done(at=T0, by=3)
    assert task.done_by == 2
