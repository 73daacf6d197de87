from datetime import UTC, datetime, time

import pytest

from waterline.domain.customers import Address, new_address, new_customer
from waterline.domain.errors import InvalidInput
from waterline.domain.products import Product, ProductKind
from waterline.domain.regions import find_district
from waterline.domain.stations import Courier, Station, daily_hours


def test_new_customer_normalises_and_dedupes_phones() -> None:
    customer = new_customer("张三", ["139 1234 5678", "+86 13912345678", "029-8888 1234"])
    assert customer.phone_numbers == ["13912345678", "02988881234"]


def test_customer_needs_name_and_valid_phone() -> None:
    with pytest.raises(InvalidInput):
        new_customer(" ", ["13912345678"])
    with pytest.raises(InvalidInput):
        new_customer("张三", [])
    with pytest.raises(InvalidInput):
        new_customer("张三", ["12345"])


def test_addresses_default_handling() -> None:
    customer = new_customer("张三", ["13912345678"])
    first = customer.add_address(new_address("西安", "雁塔", "科技路 1 号"))
    assert first.is_default and customer.default_address() is first
    second = customer.add_address(new_address("西安", "碑林", "南大街 2 号", is_default=True))
    assert customer.default_address() is second and not first.is_default
    second.id = 5
    assert customer.address_by_id(5) is second and customer.address_by_id(6) is None


def test_new_address_canonicalises_and_validates() -> None:
    address = new_address("咸阳", "秦都", " 人民路 3 号 ", floor=6)
    assert (address.city, address.district, address.detail) == ("咸阳市", "秦都区", "人民路 3 号")
    assert address.one_line() == "咸阳市秦都区人民路 3 号"
    with pytest.raises(InvalidInput) as info:
        new_address("西安", "火星区", "x")
    assert info.value.code == "address.unknown_district"
    with pytest.raises(InvalidInput):
        new_address("西安", "雁塔", "x", lat=34.2)
    with pytest.raises(InvalidInput):
        new_address("西安", "雁塔", "x", floor=500)
    with pytest.raises(InvalidInput):
        new_address("西安", "雁塔", "  ")


def test_address_coordinates_fall_back_to_district() -> None:
    district = find_district("宝鸡市", "金台区")
    assert district is not None
    assert Address("宝鸡市", "金台区", "x").coordinates() == (district.lat, district.lon)
    assert Address("宝鸡市", "金台区", "x", lat=1.0, lon=2.0).coordinates() == (1.0, 2.0)


def test_product_refuses_negative_price_and_knows_returnables() -> None:
    barrel = Product("NFS-189", "农夫山泉 18.9L", "农夫山泉", ProductKind.BARREL, 18900, 2000)
    assert barrel.returnable
    assert not Product("DISP-1", "饮水机", "美的", ProductKind.DISPENSER, 0, 39900).returnable
    with pytest.raises(InvalidInput):
        Product("X", "x", "x", ProductKind.BARREL, 1, -1)


def test_station_opening_hours_in_shanghai_time() -> None:
    station = Station(
        "雁塔站", "西安市", "雁塔区", 34.2, 108.9, ["雁塔区"], hours=daily_hours(time(8), time(20))
    )
    assert station.is_open(datetime(2026, 11, 25, 0, 0, tzinfo=UTC))  # 08:00 local
    assert not station.is_open(datetime(2026, 11, 24, 23, 59, tzinfo=UTC))  # 07:59 local
    assert not station.is_open(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))  # 20:00 local, closed
    assert station.serves("西安市", "雁塔区") and not station.serves("咸阳市", "雁塔区")
    station.active = False
    assert not station.is_open(datetime(2026, 11, 25, 4, 0, tzinfo=UTC))


def test_courier_load_bookkeeping() -> None:
    courier = Courier(1, "王师傅", "13991110001", capacity_per_trip=10)
    courier.take(8)
    assert courier.has_room_for(2) and not courier.has_room_for(3)
    courier.release(8)
    courier.release(8)
    assert (courier.load, courier.active_orders) == (0, 0)
