"""The working calendar of mainland China: public holidays and 调休 make-up workdays.

The days come from the maintained ``chinese-calendar`` package (its tables follow the State Council's
yearly notice; 1.11 covers 2004-2026), under the business's own override table: an override for a
date always wins, and it is the only source for a year the package does not know yet. Years neither
knows fall back to Monday-Friday.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import date

import chinese_calendar

from waterline.domain.hours import DayInfo, DaySource, weekday_rule
from waterline.services.ports import UnitOfWork


class ChineseWorkCalendar:
    """``domain.hours.WorkCalendar`` over ``chinese-calendar`` plus ``overrides`` (date -> is workday).

    The overrides are a snapshot (the store's holiday override rows); build a new calendar when
    they change — it is cheap.
    """

    def __init__(self, overrides: Mapping[date, bool] | None = None) -> None:
        self._overrides = dict(overrides or {})
        # The package scans its whole table to validate each date (~50 us); an opening-hours check
        # asks about the same day once per station, so answers are remembered.
        self._days: dict[date, DayInfo] = {}

    def day(self, day: date) -> DayInfo:
        """What kind of day ``day`` is (override, else package, else the weekday rule)."""
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = self._classify(day)
        return known

    def _classify(self, day: date) -> DayInfo:
        override = self._overrides.get(day)
        if override is not None:
            return DayInfo(
                day=day,
                workday=override,
                # an override day off on a weekday is a holiday; a weekend stays a plain weekend
                holiday=not override and day.weekday() < 5,
                source=DaySource.OVERRIDE,
                name=self._package_name(day),
            )
        try:
            off, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:
            # the package raises this for years its tables do not cover yet
            return weekday_rule(day)
        # get_holiday_detail answers (day off?, holiday name); a make-up workday carries its holiday's name
        is_workday = not off
        return DayInfo(
            day=day,
            workday=is_workday,
            holiday=not is_workday and (name is not None or day.weekday() < 5),
            source=DaySource.PACKAGE,
            name=name if isinstance(name, str) else None,
        )

    def covers(self, year: int) -> bool:
        """True when the package (or an override) knows ``year``'s holidays."""
        if any(d.year == year for d in self._overrides):
            return True
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
        except NotImplementedError:
            return False
        return True

    @staticmethod
    def _package_name(day: date) -> str | None:
        try:
            _, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:
            return None
        return name if isinstance(name, str) else None


class StoreCalendars:
    """The calendar under the store's current override rows, for the message bus's handlers.

    Called with the handler's unit of work; the rows are re-read at most every ``ttl`` seconds
    (``clock`` is monotonic seconds), so an order placement does not pay a query for a table that
    changes a few times a year, and an edited override is followed within ``ttl``.
    """

    def __init__(self, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._calendar: ChineseWorkCalendar | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def __call__(self, uow: UnitOfWork) -> ChineseWorkCalendar:
        """The calendar; ``uow`` must be open (the handler's own)."""
        now = self._clock()
        with self._lock:
            if self._calendar is None or now >= self._expires:
                rows = uow.holidays.all()
                self._calendar = ChineseWorkCalendar({row.day: row.is_workday for row in rows})
                self._expires = now + self.ttl
            return self._calendar
