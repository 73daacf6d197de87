"""Service functions of the holiday override table (the calendar's manual corrections)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from waterline.domain.errors import InvalidInput
from waterline.domain.overrides import HolidayOverride
from waterline.services.ports import UnitOfWork

__all__ = ["replace_overrides"]

MAX_NOTE = 255


def replace_overrides(
    uow: UnitOfWork, entries: Iterable[tuple[date, bool, str]], *, now: datetime
) -> list[HolidayOverride]:
    """Make ``entries`` (day, is_workday, note) the whole override table; a day given twice is refused."""
    overrides: list[HolidayOverride] = []
    seen: set[date] = set()
    for day, is_workday, note in entries:
        if day in seen:
            raise InvalidInput("invalid_input", detail=f"{day.isoformat()} given twice")
        if len(note) > MAX_NOTE:
            raise InvalidInput("invalid_input", detail=f"note of {day.isoformat()} longer than {MAX_NOTE}")
        seen.add(day)
        overrides.append(HolidayOverride(day=day, is_workday=is_workday, note=note, updated_at=now))
    overrides.sort(key=lambda o: o.day)
    with uow:
        uow.holidays.replace_all(overrides)
        uow.commit()
    return overrides
