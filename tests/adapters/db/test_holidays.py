"""Holiday overrides in the store and the calendar's one-query read; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session, sessionmaker

from waterline.adapters.db.holidays import load_overrides
from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.domain.overrides import HolidayOverride

AT = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


def test_replace_all_and_load(session_factory: sessionmaker[Session]) -> None:
    uow = SqlAlchemyUnitOfWork(session_factory)
    saturday = HolidayOverride(date(2027, 2, 20), True, "春节调休", AT)
    monday = HolidayOverride(date(2027, 2, 15), False, "春节", AT)
    with uow:
        uow.holidays.replace_all([saturday, monday])
        uow.commit()
    with uow:
        assert uow.holidays.all() == [monday, saturday]
    assert load_overrides(session_factory) == {date(2027, 2, 20): True, date(2027, 2, 15): False}
    with uow:
        uow.holidays.replace_all([monday])
        uow.commit()
    assert load_overrides(session_factory) == {date(2027, 2, 15): False}
