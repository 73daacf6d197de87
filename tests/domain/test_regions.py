import pytest

from waterline.domain.regions import DISTRICTS, canonical_city, find_district, great_circle_km


@pytest.mark.parametrize(
    ("city", "district", "found"),
    [
        ("西安市", "雁塔区", "雁塔区"),
        ("西安", "雁塔", "雁塔区"),
        ("西安", "曲江", "曲江新区"),
        ("咸阳", "兴平", "兴平市"),
        ("咸阳", "三原", "三原县"),
        ("宝鸡", "金台", "金台区"),
    ],
)
def test_find_district_accepts_short_forms(city: str, district: str, found: str) -> None:
    result = find_district(city, district)
    assert result is not None and result.name == found


def test_unknown_or_wrong_city() -> None:
    assert find_district("西安", "秦都") is None  # 秦都 is in 咸阳
    assert find_district("北京", "朝阳") is None


def test_coordinates_are_in_shaanxi() -> None:
    for district in DISTRICTS.values():
        assert 33.5 < district.lat < 35.0 and 106.5 < district.lon < 110.0, district


def test_canonical_city_and_symmetric_distance() -> None:
    assert canonical_city(" 宝鸡 ") == "宝鸡市" and canonical_city("宝鸡市") == "宝鸡市"
    a, b = DISTRICTS[("西安市", "雁塔区")], DISTRICTS[("西安市", "未央区")]
    d = great_circle_km(a.lat, a.lon, b.lat, b.lon)
    assert d == pytest.approx(great_circle_km(b.lat, b.lon, a.lat, a.lon))
    assert 10 < d < 12  # about 0.096 degrees of latitude apart
