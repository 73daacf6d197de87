"""The ``tasks`` table (call-back work, e.g. a voicemail to answer) and :class:`SqlAlchemyTaskRepository`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import CheckConstraint, Column, Index, Integer, String, Table, Text, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from waterline.adapters.db.metadata import metadata
from waterline.adapters.db.orm import UtcDateTime
from waterline.domain.tasks import Task, TaskKind, TaskState
from waterline.services.ports import TaskRepository

__all__ = ["SqlAlchemyTaskRepository", "tasks_table"]

tasks_table = Table(
    "tasks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("state", String(10), nullable=False),
    Column("caller", String(32), nullable=False),
    Column("call_id", String(255), nullable=True),
    Column("customer_id", Integer, nullable=True),
    Column("recording_id", Integer, nullable=True),
    Column("note", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime, nullable=True),
    Column("done_by", Integer, nullable=True),
    CheckConstraint("state IN ('open', 'done')", name="state"),
    # the console's work list: open tasks, newest first
    Index("ix_tasks_state_created_at", "state", "created_at"),
)


def _values(task: Task) -> dict[str, Any]:
    return {
        "kind": task.kind.value, "state": task.state.value, "caller": task.caller, "call_id": task.call_id,
        "customer_id": task.customer_id, "recording_id": task.recording_id, "note": task.note,
        "created_at": task.created_at, "done_at": task.done_at, "done_by": task.done_by,
    }


def _task(row: RowMapping) -> Task:
    return Task(
        id=row["id"], kind=TaskKind(row["kind"]), state=TaskState(row["state"]), caller=row["caller"],
        call_id=row["call_id"], customer_id=row["customer_id"], recording_id=row["recording_id"],
        note=row["note"], created_at=row["created_at"], done_at=row["done_at"], done_by=row["done_by"],
    )


class SqlAlchemyTaskRepository:
    """Implements ``services.ports.TaskRepository`` on the session of a unit of work."""

    def __init__(self, session: Callable[[], Session]) -> None:
        self._session = session

    def add(self, task: Task) -> Task:
        """Insert the task and set its id."""
        key = self._session().execute(
            tasks_table.insert().values(**_values(task)).returning(tasks_table.c.id)
        ).scalar_one()
        task.id = int(key)
        return task

    def get(self, task_id: int) -> Task | None:
        """The task with this id, or None."""
        query = select(tasks_table).where(tasks_table.c.id == task_id)
        row = self._session().execute(query).mappings().one_or_none()
        return None if row is None else _task(row)

    def save(self, task: Task) -> None:
        """Write the task back."""
        if task.id is None:
            raise ValueError("save() needs a stored task (id set)")
        self._session().execute(
            update(tasks_table).where(tasks_table.c.id == task.id).values(**_values(task))
        )

    def search(self, *, state: TaskState | None = None, limit: int = 50, offset: int = 0) -> list[Task]:
        """Tasks (in ``state`` when given), newest first."""
        query = select(tasks_table)
        if state is not None:
            query = query.where(tasks_table.c.state == state.value)
        query = query.order_by(tasks_table.c.created_at.desc(), tasks_table.c.id.desc())
        query = query.limit(limit).offset(offset)
        return [_task(row) for row in self._session().execute(query).mappings().all()]

    def find_open(self, call_id: str, kind: TaskKind) -> Task | None:
        """The newest open task of ``kind`` about the call, or None."""
        query = (
            select(tasks_table)
            .where(tasks_table.c.call_id == call_id, tasks_table.c.kind == kind.value,
                   tasks_table.c.state == TaskState.OPEN.value)
            .order_by(tasks_table.c.id.desc())
            .limit(1)
        )
        row = self._session().execute(query).mappings().one_or_none()
        return None if row is None else _task(row)


def _conforms(repo: SqlAlchemyTaskRepository) -> TaskRepository:
    # mypy checks here that the adapter implements the port
    return repo
