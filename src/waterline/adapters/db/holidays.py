"""The ``holiday_overrides`` table and :class:`SqlAlchemyHolidayOverrideRepository`.

Besides the repository (used by the service layer inside a unit of work), :func:`load_overrides`
gives the calendar its input as a plain ``Mapping[date, bool]`` (True: a workday) in one query.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import Boolean, Column, Date, String, Table, delete, select
from sqlalchemy.orm import Session

from waterline.adapters.db.metadata import metadata
from waterline.adapters.db.orm import UtcDateTime
from waterline.domain.overrides import HolidayOverride
from waterline.services.ports import HolidayOverrideRepository

__all__ = ["SqlAlchemyHolidayOverrideRepository", "holiday_overrides_table", "load_overrides"]

holiday_overrides_table = Table(
    "holiday_overrides",
    metadata,
    Column("day", Date, primary_key=True),
    Column("is_workday", Boolean, nullable=False),
    Column("note", String(255), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)


class SqlAlchemyHolidayOverrideRepository:
    """Implements ``services.ports.HolidayOverrideRepository`` on the session of a unit of work."""

    def __init__(self, session: Callable[[], Session]) -> None:
        self._session = session

    def all(self) -> list[HolidayOverride]:
        """Every override by day."""
        rows = self._session().execute(
            select(holiday_overrides_table).order_by(holiday_overrides_table.c.day)
        ).mappings().all()
        return [
            HolidayOverride(
                day=r["day"], is_workday=r["is_workday"], note=r["note"], updated_at=r["updated_at"]
            )
            for r in rows
        ]

    def replace_all(self, overrides: list[HolidayOverride]) -> None:
        """Replace the table's content with ``overrides``."""
        session = self._session()
        session.execute(delete(holiday_overrides_table))
        if overrides:
            session.execute(
                holiday_overrides_table.insert(),
                [
                    {"day": o.day, "is_workday": o.is_workday, "note": o.note, "updated_at": o.updated_at}
                    for o in overrides
                ],
            )


def load_overrides(session_factory: Callable[[], Session]) -> dict[date, bool]:
    """Every override as ``{day: is_workday}`` in one short read (the calendar's input)."""
    with session_factory() as session:
        rows = session.execute(
            select(holiday_overrides_table.c.day, holiday_overrides_table.c.is_workday)
        ).all()
        return {row.day: bool(row.is_workday) for row in rows}


def _conforms(repo: SqlAlchemyHolidayOverrideRepository) -> HolidayOverrideRepository:
    # mypy checks here that the adapter implements the port
    return repo
