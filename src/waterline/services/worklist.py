"""Service functions of the hotline's work list: finishing call-back tasks."""

from __future__ import annotations

from datetime import datetime

from waterline.domain.errors import found
from waterline.domain.tasks import Task
from waterline.services.ports import UnitOfWork

__all__ = ["complete_task"]


def complete_task(uow: UnitOfWork, task_id: int, *, user_id: int | None, now: datetime) -> Task:
    """Mark the task done by ``user_id``; ``NotFound`` / ``Conflict`` (done already)."""
    with uow:
        task = found(uow.tasks.get(task_id), "task", task_id)
        task.mark_done(at=now, by=user_id)
        uow.tasks.save(task)
        uow.commit()
    return task
