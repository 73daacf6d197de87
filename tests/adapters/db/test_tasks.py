"""Tasks in the store: add, mark done, list by state; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.domain.tasks import Task, TaskKind, TaskState

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def test_tasks_round_trip_and_filter(session_factory: sessionmaker[Session]) -> None:
    uow = SqlAlchemyUnitOfWork(session_factory)
    with uow:
        first = uow.tasks.add(Task(TaskKind.MISSED_CALL, "13912345678", T0, call_id="a", recording_id=3))
        second = uow.tasks.add(Task(TaskKind.MISSED_CALL, "02988881234", T0 + timedelta(minutes=1)))
        uow.commit()
    assert first.id is not None and second.id is not None
    with uow:
        task = uow.tasks.get(first.id)
        assert task is not None and task.recording_id == 3 and task.state is TaskState.OPEN
        task.mark_done(at=T0 + timedelta(hours=1), by=9)
        uow.tasks.save(task)
        uow.commit()
    with uow:
        done = uow.tasks.search(state=TaskState.DONE)
        open_ = uow.tasks.search(state=TaskState.OPEN)
        every = uow.tasks.search(limit=1, offset=1)
    assert [t.id for t in done] == [first.id] and done[0].done_by == 9
    assert done[0].done_at == T0 + timedelta(hours=1)
    assert [t.id for t in open_] == [second.id]
    assert [t.id for t in every] == [first.id]


def test_find_open_takes_the_newest_open_task_of_the_kind_for_the_call(
        session_factory: sessionmaker[Session]) -> None:
    uow = SqlAlchemyUnitOfWork(session_factory)
    with uow:
        older = uow.tasks.add(Task(TaskKind.QUEUE_CALLBACK, "13912345678", T0, call_id="c1"))
        newer = uow.tasks.add(Task(TaskKind.QUEUE_CALLBACK, "13912345678", T0, call_id="c1"))
        uow.tasks.add(Task(TaskKind.MISSED_CALL, "13912345678", T0, call_id="c1"))
        uow.commit()
    with uow:
        found = uow.tasks.find_open("c1", TaskKind.QUEUE_CALLBACK)
        assert found is not None and found.id == newer.id
        found.mark_done(at=T0, by=None)
        uow.tasks.save(found)
        uow.commit()
    with uow:
        again = uow.tasks.find_open("c1", TaskKind.QUEUE_CALLBACK)
        assert again is not None and again.id == older.id
        assert uow.tasks.find_open("c2", TaskKind.QUEUE_CALLBACK) is None
