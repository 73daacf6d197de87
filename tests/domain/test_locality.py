"""The station for a region known only to its city."""

from __future__ import annotations

from waterline.domain.locality import UNKNOWN, Locality, LocalitySource, station_for_city
from waterline.domain.stations import Station


def _station(sid: int, city: str, districts: list[str], active: bool = True) -> Station:
    return Station(f"站{sid}", city, districts[0], 34.0, 108.0, districts, active=active, id=sid)


STATIONS = [
    _station(1, "西安市", ["雁塔区"]),
    _station(2, "西安市", ["未央区", "经开区"]),
    _station(3, "咸阳市", ["秦都区"]),
    _station(4, "宝鸡市", ["渭滨区"], active=False),
]


def test_open_station_of_the_city_first_then_the_widest_service_area() -> None:
    assert station_for_city(STATIONS, "西安市", lambda s: True) is STATIONS[1]
    assert station_for_city(STATIONS, "西安市", lambda s: s.id == 1) is STATIONS[0]
    assert station_for_city(STATIONS, "咸阳市", lambda s: False) is STATIONS[2]


def test_no_station_for_unknown_city_or_only_inactive_ones() -> None:
    assert station_for_city(STATIONS, None, lambda s: True) is None
    assert station_for_city(STATIONS, "宝鸡市", lambda s: True) is None
    assert station_for_city(STATIONS, "榆林市", lambda s: True) is None


def test_known_means_province_known() -> None:
    assert not UNKNOWN.known
    assert Locality("陕西省", None, LocalitySource.AREA_CODE).known
