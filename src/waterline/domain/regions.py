"""The Shaanxi districts we deliver to, with approximate centre coordinates (WGS-84).

Used to validate addresses (an unknown district is refused), to place an address without
coordinates at its district centre for distance estimates, and by the demo data generator.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius


@dataclass(frozen=True)
class District:
    """A county-level area (区/县, or a development zone that people give as a district)."""

    city: str
    name: str
    lat: float
    lon: float


def _d(city: str, name: str, lat: float, lon: float) -> District:
    return District(city=city, name=name, lat=lat, lon=lon)


_ALL: tuple[District, ...] = (
    # 西安市
    _d("西安市", "新城区", 34.2669, 108.9606),
    _d("西安市", "碑林区", 34.2537, 108.9470),
    _d("西安市", "莲湖区", 34.2654, 108.9335),
    _d("西安市", "雁塔区", 34.2135, 108.9486),
    _d("西安市", "未央区", 34.3098, 108.9468),
    _d("西安市", "灞桥区", 34.2727, 109.0643),
    _d("西安市", "长安区", 34.1589, 108.9070),
    _d("西安市", "临潼区", 34.3672, 109.2140),
    _d("西安市", "阎良区", 34.6622, 109.2263),
    _d("西安市", "高陵区", 34.5348, 109.0881),
    _d("西安市", "鄠邑区", 34.1086, 108.6047),
    _d("西安市", "高新区", 34.2030, 108.8830),
    _d("西安市", "经开区", 34.3450, 108.9380),
    _d("西安市", "曲江新区", 34.2000, 108.9900),
    # 咸阳市
    _d("咸阳市", "秦都区", 34.3297, 108.7064),
    _d("咸阳市", "渭城区", 34.3618, 108.7373),
    _d("咸阳市", "兴平市", 34.2996, 108.4904),
    _d("咸阳市", "三原县", 34.6173, 108.9405),
    # 宝鸡市
    _d("宝鸡市", "渭滨区", 34.3710, 107.1497),
    _d("宝鸡市", "金台区", 34.3787, 107.1464),
    _d("宝鸡市", "陈仓区", 34.3545, 107.3870),
    # 渭南市
    _d("渭南市", "临渭区", 34.4980, 109.5100),
)

DISTRICTS: Mapping[tuple[str, str], District] = {(d.city, d.name): d for d in _ALL}
_SUFFIXES = ("区", "县", "市", "新区")


def _city_key(city: str) -> str:
    city = city.strip()
    return city if city.endswith("市") else city + "市"


def find_district(city: str, district: str) -> District | None:
    """Look a district up, accepting short forms ("西安", "雁塔" for 西安市 雁塔区)."""
    city_key = _city_key(city)
    name = district.strip()
    found = DISTRICTS.get((city_key, name))
    if found is not None:
        return found
    for suffix in _SUFFIXES:
        found = DISTRICTS.get((city_key, name + suffix))
        if found is not None:
            return found
    return None


def canonical_city(city: str) -> str:
    """City name with its 市 suffix, as stored."""
    return _city_key(city)


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in kilometres between two WGS-84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
