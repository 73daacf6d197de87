"""Complaints in the store; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.domain.tasks import Complaint

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def test_complaints_round_trip_newest_first(session_factory: sessionmaker[Session]) -> None:
    uow = SqlAlchemyUnitOfWork(session_factory)
    with uow:
        old = uow.complaints.add(Complaint("late", "13912345678", T0, call_id="c1", customer_id=5))
        new = uow.complaints.add(Complaint("quality", "13900000000", T0 + timedelta(minutes=5)))
        uow.commit()
    assert old.id is not None and new.id is not None
    with uow:
        assert [c.id for c in uow.complaints.search()] == [new.id, old.id]
        assert [c.reason for c in uow.complaints.search(customer_id=5)] == ["late"]
        found = uow.complaints.get(old.id)
    assert found == Complaint("late", "13912345678", T0, call_id="c1", customer_id=5, id=old.id)
