"""Opening hours against the Chinese working calendar: is a station open at a given local time?

A station lists hours per weekday (``OpeningHours.weekday`` 0 = Monday ... 6 = Sunday) and may list
hours for public holidays under ``HOLIDAY_WEEKDAY`` (7), stored in the same list, so no new column is
needed. Which list applies on a day:

- a public holiday (or any day off on a weekday): the holiday hours, else Sunday's hours;
- a make-up workday (调休) on a weekend: the hours of the neighbouring regular workday (Friday's for
  a Saturday, Monday's for a Sunday) — the business works as on a weekday;
- any other day: that weekday's own hours.

A station without any hours is always open (as ``Station.is_open``); an inactive one never is.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Protocol

from waterline.domain.stations import SHANGHAI, OpeningHours, Station

HOLIDAY_WEEKDAY = 7
SATURDAY, SUNDAY = 5, 6


class DaySource(enum.StrEnum):
    """Where the calendar's answer for a day came from."""

    OVERRIDE = "override"  # the business's own override table
    PACKAGE = "package"  # the maintained holiday package
    WEEKDAYS = "weekdays"  # neither knows the year: Monday-Friday work, weekends off


@dataclass(frozen=True)
class DayInfo:
    """What kind of day ``day`` is in mainland China.

    ``workday``: people work (a make-up Saturday included). ``holiday``: a day off that is not an
    ordinary weekend (a public holiday, its bridging days, or an override day off); ``name`` is the
    holiday's English name when known (``National Day``).
    """

    day: date
    workday: bool
    holiday: bool
    source: DaySource
    name: str | None = None

    @property
    def makeup_workday(self) -> bool:
        """A weekend day worked to make up for a holiday (调休上班)."""
        return self.workday and self.day.weekday() >= SATURDAY


class WorkCalendar(Protocol):
    """The calendar port: the kind of any date (an adapter wraps the holiday package + overrides)."""

    def day(self, day: date) -> DayInfo:
        """What kind of day ``day`` is."""
        ...


def weekday_rule(day: date) -> DayInfo:
    """The plain rule for years nobody has published: Monday-Friday are workdays."""
    return DayInfo(day=day, workday=day.weekday() < SATURDAY, holiday=False, source=DaySource.WEEKDAYS)


def hours_for(station: Station, info: DayInfo) -> list[OpeningHours]:
    """The opening hours of ``station`` that apply on the day ``info`` describes."""
    weekday = info.day.weekday()
    if info.holiday:
        special = [h for h in station.hours if h.weekday == HOLIDAY_WEEKDAY]
        if special:
            return special
        weekday = SUNDAY
    elif info.makeup_workday:
        weekday = 4 if weekday == SATURDAY else 0
    return [h for h in station.hours if h.weekday == weekday]


def local_time(at: datetime) -> datetime:
    """``at`` in Asia/Shanghai; a naive datetime is taken to be Shanghai time already."""
    if at.tzinfo is None:
        return at.replace(tzinfo=SHANGHAI)
    return at.astimezone(SHANGHAI)


def is_open(station: Station, at: datetime, calendar: WorkCalendar) -> bool:
    """Whether ``station`` is open at ``at`` (aware, or naive Shanghai time), holidays and 调休 included."""
    if not station.active:
        return False
    if not station.hours:
        return True
    local = local_time(at)
    now: time = local.time()
    info = calendar.day(local.date())
    return any(h.opens <= now < h.closes for h in hours_for(station, info))
