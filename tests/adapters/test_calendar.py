"""The working calendar: chinese-calendar's holidays and 调休 workdays under the override table."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fakes import FakeStore
from waterline.adapters.calendar import ChineseWorkCalendar, StoreCalendars
from waterline.domain.hours import DaySource
from waterline.domain.overrides import HolidayOverride


def test_a_makeup_saturday_is_a_workday() -> None:
    # 2026-02-14 is a Saturday worked for the Spring Festival break (State Council notice)
    day = ChineseWorkCalendar().day(date(2026, 2, 14))
    assert day.day.weekday() == 5
    assert day.workday and not day.holiday and day.makeup_workday
    assert day.source is DaySource.PACKAGE
    assert day.name == "Spring Festival"


def test_national_day_on_a_weekday_is_a_holiday() -> None:
    day = ChineseWorkCalendar().day(date(2026, 10, 1))
    assert day.day.weekday() == 3
    assert not day.workday and day.holiday
    assert day.name == "National Day"


def test_bridging_weekday_off_is_a_holiday() -> None:
    # 2026-10-07 (Wednesday) is off, paid back by the 10-10 Saturday
    calendar = ChineseWorkCalendar()
    assert calendar.day(date(2026, 10, 7)).holiday
    assert calendar.day(date(2026, 10, 10)).workday


def test_ordinary_days() -> None:
    calendar = ChineseWorkCalendar()
    wednesday, saturday = calendar.day(date(2026, 11, 25)), calendar.day(date(2026, 11, 28))
    assert wednesday.workday and not wednesday.holiday and wednesday.name is None
    assert not saturday.workday and not saturday.holiday and not saturday.makeup_workday


def test_override_wins_over_the_package() -> None:
    calendar = ChineseWorkCalendar({date(2026, 2, 14): False, date(2026, 11, 25): False})
    saturday = calendar.day(date(2026, 2, 14))
    assert not saturday.workday and not saturday.holiday  # a weekend again, not a holiday
    assert saturday.source is DaySource.OVERRIDE
    wednesday = calendar.day(date(2026, 11, 25))
    assert not wednesday.workday and wednesday.holiday


def test_override_covers_a_year_the_package_lacks() -> None:
    calendar = ChineseWorkCalendar({date(2031, 2, 8): True, date(2031, 2, 3): False})
    assert not ChineseWorkCalendar().covers(2031)
    assert calendar.covers(2031)
    saturday = calendar.day(date(2031, 2, 8))
    assert saturday.workday and saturday.makeup_workday and saturday.source is DaySource.OVERRIDE
    assert calendar.day(date(2031, 2, 3)).holiday


def test_unknown_year_falls_back_to_weekdays() -> None:
    calendar = ChineseWorkCalendar()
    monday, sunday = calendar.day(date(2031, 6, 2)), calendar.day(date(2031, 6, 1))
    assert monday.workday and monday.source is DaySource.WEEKDAYS
    assert not sunday.workday and not sunday.holiday


def test_store_calendars_read_the_override_rows_and_refresh_them_after_the_ttl() -> None:
    store = FakeStore()
    now = [0.0]
    calendars = StoreCalendars(ttl=60.0, clock=lambda: now[0])
    # 2026-11-25 is an ordinary Wednesday; the business declares it a day off
    with store.uow() as uow:
        assert calendars(uow).day(date(2026, 11, 25)).workday
        uow.holidays.replace_all([HolidayOverride(date(2026, 11, 25), False, "停水检修", datetime.now(UTC))])
        uow.commit()
    with store.uow() as uow:
        now[0] = 59.0  # still the cached calendar: no query per order
        assert calendars(uow).day(date(2026, 11, 25)).workday
        now[0] = 60.0
        day = calendars(uow).day(date(2026, 11, 25))
    assert not day.workday and day.source is DaySource.OVERRIDE
