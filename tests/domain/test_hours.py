"""Opening hours against the working calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from waterline.domain.hours import (
    HOLIDAY_WEEKDAY,
    DayInfo,
    DaySource,
    hours_for,
    is_open,
    local_time,
    weekday_rule,
)
from waterline.domain.stations import SHANGHAI, OpeningHours, Station, daily_hours


class TableCalendar:
    """A calendar from a table of days; other days follow the weekday rule."""

    def __init__(self, *days: DayInfo) -> None:
        self.days = {d.day: d for d in days}

    def day(self, day: date) -> DayInfo:
        return self.days.get(day) or weekday_rule(day)


def _station(hours: list[OpeningHours], active: bool = True) -> Station:
    return Station("雁塔站", "西安市", "雁塔区", 34.2, 108.9, ["雁塔区"], hours=hours, active=active, id=1)


WEEKDAY_HOURS = daily_hours(time(8, 0), time(18, 0), range(5))  # closed at weekends
MAKEUP_SATURDAY = DayInfo(date(2026, 2, 14), workday=True, holiday=False, source=DaySource.PACKAGE)
NATIONAL_DAY = DayInfo(date(2026, 10, 1), workday=False, holiday=True, source=DaySource.PACKAGE)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def test_a_makeup_saturday_opens_like_a_workday() -> None:
    station = _station(WEEKDAY_HOURS)
    calendar = TableCalendar(MAKEUP_SATURDAY)
    assert is_open(station, _at(date(2026, 2, 14), 10), calendar)
    assert not is_open(station, _at(date(2026, 2, 14), 19), calendar)  # after hours
    # an ordinary Saturday stays closed
    assert not is_open(station, _at(date(2026, 2, 7), 10), calendar)


def test_makeup_days_take_the_neighbouring_workday_hours() -> None:
    hours = [OpeningHours(4, time(8), time(12)), OpeningHours(0, time(14), time(18))]
    saturday = hours_for(_station(hours), MAKEUP_SATURDAY)
    sunday = hours_for(_station(hours), DayInfo(date(2026, 9, 20), True, False, DaySource.PACKAGE))
    assert saturday == [hours[0]]
    assert sunday == [hours[1]]


def test_a_holiday_uses_holiday_hours_when_listed() -> None:
    hours = [*WEEKDAY_HOURS, OpeningHours(HOLIDAY_WEEKDAY, time(9, 0), time(12, 0))]
    station = _station(hours)
    calendar = TableCalendar(NATIONAL_DAY)
    assert is_open(station, _at(NATIONAL_DAY.day, 10), calendar)
    assert not is_open(station, _at(NATIONAL_DAY.day, 15), calendar)  # a Thursday, but a holiday


def test_a_holiday_without_holiday_hours_follows_sunday() -> None:
    calendar = TableCalendar(NATIONAL_DAY)
    assert not is_open(_station(WEEKDAY_HOURS), _at(NATIONAL_DAY.day, 10), calendar)
    every_day = _station(daily_hours(time(7, 30), time(21, 0)))
    assert is_open(every_day, _at(NATIONAL_DAY.day, 10), calendar)


def test_no_hours_means_always_open_and_inactive_never() -> None:
    calendar = TableCalendar(NATIONAL_DAY)
    assert is_open(_station([]), _at(NATIONAL_DAY.day, 3), calendar)
    assert not is_open(_station([], active=False), _at(date(2026, 11, 25), 10), calendar)


def test_times_are_read_in_shanghai() -> None:
    station = _station(WEEKDAY_HOURS)
    calendar = TableCalendar()
    # 2026-11-25 01:00 UTC is 09:00 in Xi'an; 11:00 UTC is 19:00
    assert is_open(station, datetime(2026, 11, 25, 1, 0, tzinfo=UTC), calendar)
    assert not is_open(station, datetime(2026, 11, 25, 11, 0, tzinfo=UTC), calendar)
    # naive datetimes are Shanghai wall time; closes is exclusive
    assert is_open(station, datetime(2026, 11, 25, 17, 59), calendar)
    assert not is_open(station, datetime(2026, 11, 25, 18, 0), calendar)
    assert local_time(datetime(2026, 11, 25, 18, 0)).tzinfo is SHANGHAI


def test_day_info_makeup_flag() -> None:
    assert MAKEUP_SATURDAY.makeup_workday
    assert not weekday_rule(date(2026, 11, 25)).makeup_workday
