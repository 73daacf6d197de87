from datetime import UTC, datetime, time

from waterline.domain.stations import Courier, OpeningHours, Station, daily_hours


def test_weekday_specific_hours() -> None:
    # Monday to Friday only, 08:30-18:00
    station = Station(
        "碑林站",
        "西安市",
        "碑林区",
        34.25,
        108.94,
        ["碑林区"],
        hours=daily_hours(time(8, 30), time(18), range(5)),
    )
    wednesday_9am = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    saturday_9am = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    assert station.is_open(wednesday_9am)
    assert not station.is_open(saturday_9am)
    assert station.hours[0] == OpeningHours(0, time(8, 30), time(18))


def test_station_without_hours_is_always_open() -> None:
    station = Station("24h", "西安市", "新城区", 34.26, 108.96, ["新城区"])
    assert station.is_open(datetime(2026, 11, 25, 19, 0, tzinfo=UTC))


def test_courier_room() -> None:
    courier = Courier(1, "王师傅", "13991110001", capacity_per_trip=5, load=3)
    assert courier.has_room_for(2) and not courier.has_room_for(3)
