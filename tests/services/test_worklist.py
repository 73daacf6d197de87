from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fakes import FakeStore
from waterline.domain.errors import Conflict, NotFound
from waterline.domain.tasks import Task, TaskKind, TaskState
from waterline.services.worklist import complete_task

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


def test_complete_task_once() -> None:
    store = FakeStore()
    with store.uow() as uow:
        task = uow.tasks.add(Task(TaskKind.MISSED_CALL, "13912345678", NOW, recording_id=1))
        uow.commit()
    assert task.id is not None
    done = complete_task(store.uow(), task.id, user_id=5, now=NOW)
    assert done.state is TaskState.DONE and store.data.tasks[task.id].done_by == 5
    with pytest.raises(Conflict):
        complete_task(store.uow(), task.id, user_id=6, now=NOW)
    assert store.data.tasks[task.id].done_by == 5
    with pytest.raises(NotFound):
        complete_task(store.uow(), 999, user_id=5, now=NOW)
