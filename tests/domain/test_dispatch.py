from datetime import UTC, datetime, time, timedelta

import pytest

from waterline.domain.customers import Address, new_address
from waterline.domain.dispatch import (
    DispatchParams,
    choose_courier,
    choose_station,
    decide,
    decide_at_station,
    estimate_minutes,
)
from waterline.domain.errors import NoStationAvailable
from waterline.domain.regions import great_circle_km
from waterline.domain.stations import Courier, Station, daily_hours

# Wednesday 2026-11-25 10:00 in Xi'an
NOON = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
# 23:30 in Xi'an, after every station's closing time
NIGHT = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)
HOURS = daily_hours(time(8, 0), time(20, 0))


def _stations() -> list[Station]:
    return [
        Station("雁塔站", "西安市", "雁塔区", 34.2135, 108.9486, ["雁塔区", "曲江新区"], hours=HOURS, id=1),
        Station("未央站", "西安市", "未央区", 34.3098, 108.9468, ["未央区", "经开区"], hours=HOURS, id=2),
        Station("高新站", "西安市", "高新区", 34.2030, 108.8830, ["高新区"], hours=HOURS, id=3),
        Station(
            "碑林站", "西安市", "碑林区", 34.2537, 108.9470, ["碑林区", "新城区", "莲湖区"], hours=HOURS, id=4
        ),
        Station("秦都站", "咸阳市", "秦都区", 34.3297, 108.7064, ["秦都区", "渭城区"], hours=HOURS, id=5),
        Station("渭滨站", "宝鸡市", "渭滨区", 34.3710, 107.1497, ["渭滨区", "金台区"], hours=HOURS, id=6),
    ]


@pytest.mark.parametrize(
    ("city", "district", "lat", "lon", "station_id", "reason"),
    [
        # 大雁塔 is in 雁塔区
        ("西安", "雁塔", 34.2197, 108.9640, 1, "dispatch.service_area"),
        # 曲江池 is served by the 雁塔 station
        ("西安市", "曲江新区", 34.2020, 108.9870, 1, "dispatch.service_area"),
        # 西安北站, 未央区
        ("西安市", "未央区", 34.3766, 108.9394, 2, "dispatch.service_area"),
        # 钟楼 sits in 碑林区; 莲湖区 address near 西大街 goes to the 碑林 station by service area
        ("西安市", "莲湖区", 34.2600, 108.9300, 4, "dispatch.service_area"),
        ("西安市", "高新区", 34.1950, 108.8770, 3, "dispatch.service_area"),
        # 长安区 has no station of its own: 郭杜 area is nearest to the 高新 station
        ("西安市", "长安区", 34.1589, 108.9070, 3, "dispatch.nearest"),
        ("咸阳市", "渭城区", 34.3618, 108.7373, 5, "dispatch.service_area"),
        ("宝鸡市", "金台区", 34.3787, 107.1464, 6, "dispatch.service_area"),
        # 陈仓区 is only reachable from 宝鸡, not from 咸阳 or 西安
        ("宝鸡市", "陈仓区", 34.3545, 107.3870, 6, "dispatch.nearest"),
    ],
)
def test_station_table_with_real_coordinates(
    city: str, district: str, lat: float, lon: float, station_id: int, reason: str
) -> None:
    address = new_address(city, district, "某小区 1 号楼", lat=lat, lon=lon)
    choice = choose_station(address, _stations(), NOON)
    assert choice.station.id == station_id
    assert [r.code for r in choice.reasons] == [reason]


def test_address_without_coordinates_uses_district_centre() -> None:
    address = new_address("西安市", "长安区", "韦曲街道")
    choice = choose_station(address, _stations(), NOON)
    assert choice.station.id == 3 and 4 < choice.distance_km < 7


def test_override_wins_over_service_area() -> None:
    address = new_address("西安市", "雁塔区", "小寨", lat=34.2230, lon=108.9480, station_override_id=4)
    choice = choose_station(address, _stations(), NOON)
    assert choice.station.id == 4
    assert choice.reasons[0].code == "dispatch.override"


def test_missing_override_falls_back_and_says_so() -> None:
    address = new_address("西安市", "雁塔区", "小寨", station_override_id=99)
    choice = choose_station(address, _stations(), NOON)
    assert choice.station.id == 1
    assert [r.code for r in choice.reasons] == ["dispatch.override_missing", "dispatch.service_area"]


def test_closed_service_station_falls_to_nearest_open() -> None:
    stations = _stations()
    stations[0].hours = daily_hours(time(8, 0), time(9, 0))  # 雁塔站 closes at 09:00
    address = new_address("西安市", "雁塔区", "小寨", lat=34.2230, lon=108.9480)
    choice = choose_station(address, stations, NOON)
    assert choice.station.id == 4  # 碑林站 is the nearest open one from 小寨
    assert choice.reasons[0].code == "dispatch.nearest"


def test_open_test_can_be_passed_in() -> None:
    # a holiday-aware caller (domain.hours.is_open) decides openness instead of the weekly hours
    address = new_address("西安市", "雁塔区", "小寨", lat=34.2230, lon=108.9480)
    choice = choose_station(address, _stations(), NOON, lambda station: station.id != 1)
    assert choice.station.id == 4
    assert choice.reasons[0].code == "dispatch.nearest"
    choice = choose_station(address, _stations(), NIGHT, lambda station: True)
    assert choice.station.id == 1
    assert choice.reasons[0].code == "dispatch.service_area"


def test_all_closed_picks_nearest_and_says_so() -> None:
    address = new_address("西安市", "雁塔区", "小寨", lat=34.2230, lon=108.9480)
    choice = choose_station(address, _stations(), NIGHT)
    assert choice.station.id == 1
    assert choice.reasons[0].code == "dispatch.nearest_closed"


def test_no_station_at_all() -> None:
    with pytest.raises(NoStationAvailable):
        choose_station(new_address("西安市", "雁塔区", "小寨"), [], NOON)


def test_great_circle_distances() -> None:
    bell_tower = (34.2590, 108.9470)
    assert great_circle_km(*bell_tower, *bell_tower) == 0
    assert 22 < great_circle_km(*bell_tower, 34.3297, 108.7064) < 25  # to 咸阳 秦都
    assert 155 < great_circle_km(*bell_tower, 34.3710, 107.1497) < 175  # to 宝鸡 渭滨


def test_courier_least_load_with_capacity_on_duty_same_station() -> None:
    couriers = [
        Courier(1, "王师傅", "13991110001", capacity_per_trip=20, load=18, id=1),
        Courier(1, "李师傅", "13991110002", capacity_per_trip=20, load=5, active_orders=2, id=2),
        Courier(1, "张师傅", "13991110003", capacity_per_trip=20, load=0, on_duty=False, id=3),
        Courier(2, "赵师傅", "13991110004", capacity_per_trip=20, load=0, id=4),
        Courier(1, "刘师傅", "13991110005", capacity_per_trip=20, load=5, active_orders=1, id=5),
    ]
    assert choose_courier(couriers, 1, 3) is couriers[4]  # same load as 李, shorter queue
    assert choose_courier(couriers, 1, 16) is None  # nobody has room for 16 more
    couriers[0].load = 0
    assert choose_courier(couriers, 1, 3) is couriers[0]


def test_eta_adds_travel_queue_handling_and_stairs() -> None:
    params = DispatchParams(speed_kmh=18, detour_factor=1.5, minutes_per_queued_order=10, handling_minutes=5)
    courier = Courier(1, "王师傅", "13991110001", active_orders=2, id=1)
    lift = Address("西安市", "雁塔区", "x", floor=12, has_elevator=True)
    stairs = Address("西安市", "雁塔区", "x", floor=5, has_elevator=False)
    # 6 km * 1.5 / 18 km/h = 30 min; queue 20; handling 5
    assert estimate_minutes(6.0, courier, lift, 2, params) == 55
    # plus 4 floors * 2 pieces * 0.5 min
    assert estimate_minutes(6.0, courier, stairs, 2, params) == 59


def test_decide_assigns_courier_and_eta() -> None:
    couriers = [
        Courier(1, "王师傅", "13991110001", load=2, id=7),
        Courier(1, "李师傅", "13991110002", load=6, id=8),
    ]
    address = new_address(
        "西安市", "雁塔区", "大雁塔北广场", lat=34.2197, lon=108.9640, floor=3, has_elevator=True
    )
    decision = decide(address, 2, _stations(), couriers, NOON)
    assert (decision.station_id, decision.courier_id) == (1, 7)
    assert decision.eta_minutes is not None and decision.eta == NOON + timedelta(minutes=decision.eta_minutes)
    assert 5 <= decision.eta_minutes <= 20
    assert [r.code for r in decision.reasons] == ["dispatch.service_area", "dispatch.courier", "dispatch.eta"]


def test_decide_without_courier_keeps_station() -> None:
    address = new_address("西安市", "雁塔区", "小寨")
    decision = decide(address, 2, _stations(), [], NOON)
    assert decision.station_id == 1 and decision.courier_id is None and decision.eta is None
    assert decision.reasons[-1].code == "dispatch.no_courier"


def test_decide_at_station_matches_decide_with_only_that_stations_couriers() -> None:
    here = Courier(1, "王师傅", "13991110001", load=2, id=7)
    elsewhere = Courier(2, "赵师傅", "13991110003", load=0, id=9)
    address = new_address("西安市", "雁塔区", "大雁塔北广场", lat=34.2197, lon=108.9640, floor=3)
    whole = decide(address, 2, _stations(), [here, elsewhere], NOON)
    choice = choose_station(address, _stations(), NOON)
    assert choice.station.id == 1
    assert decide_at_station(choice, address, 2, [here], NOON) == whole
    # a courier of another station handed in by mistake is still never chosen
    assert decide_at_station(choice, address, 2, [elsewhere], NOON).courier_id is None
