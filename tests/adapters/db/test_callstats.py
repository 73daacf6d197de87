"""Counting call records by outcome in the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from waterline.adapters.db.callstats import OPEN, calls_by_outcome
from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.domain.callrecords import CallOutcome, CallRecord, HangupSide

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def test_calls_in_the_window_by_outcome(
    uow_factory: Callable[[], SqlAlchemyUnitOfWork], session_factory: sessionmaker[Session]
) -> None:
    outcomes = [CallOutcome.ORDER_PLACED, CallOutcome.ORDER_PLACED, CallOutcome.ABANDONED, None]
    with uow_factory() as uow:
        for n, outcome in enumerate(outcomes):
            record = CallRecord(f"c-{n}", "13912345678", "4006360888", T0 + timedelta(minutes=n))
            if outcome is not None:
                record.close(ended_at=record.started_at + timedelta(seconds=30), outcome=outcome,
                             hangup_side=HangupSide.CALLER)
            uow.calls.add(record)
        uow.calls.add(CallRecord("before", "13912345678", "4006360888", T0 - timedelta(seconds=1)))
        uow.calls.add(CallRecord("after", "13912345678", "4006360888", T0 + timedelta(days=1)))
        uow.commit()
    with session_factory() as session:
        counts = calls_by_outcome(session, T0, T0 + timedelta(days=1))
        assert counts == {"order-placed": 2, "abandoned": 1, OPEN: 1}
        assert calls_by_outcome(session, T0 + timedelta(days=2), T0 + timedelta(days=3)) == {}
