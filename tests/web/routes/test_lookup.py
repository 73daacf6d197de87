"""GET /api/lookup/number/{phone}: region, its source, the customer and the station."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from waterline.domain.overrides import HolidayOverride

from .conftest import Shop

URL = "/api/lookup/number/"


def test_known_customer_by_any_of_his_phones(shop: Shop) -> None:
    customer = shop.customer(phones=["13991234567", "029-8888 1234"], district="雁塔区")

    body = shop.get(URL + "02988881234", as_user="agent").json()

    assert body["customer_id"] == customer["id"] and body["customer_name"] == "张伟"
    assert (body["province"], body["city"], body["district"]) == ("陕西省", "西安市", "雁塔区")
    assert body["source"] == "address"
    assert body["station_id"] == shop.ids["yanta"] and body["station_open"] is True
    assert body["kind"] == "landline"


def test_unknown_mobile_goes_by_its_block(shop: Shop) -> None:
    body = shop.get(URL + "13991001234", as_user="agent").json()
    assert body["customer_id"] is None
    assert (body["city"], body["source"], body["area_code"]) == ("咸阳市", "mobile_block", "029")
    assert body["station_id"] == shop.ids["xianyang"]
    # a 173 block is where the block table says, not Beijing
    baoji = shop.get(URL + "17391201234", as_user="agent").json()
    assert (baoji["province"], baoji["city"]) == ("陕西省", "宝鸡市")
    assert baoji["station_id"] is None  # no 宝鸡 station in this world


def test_landline_area_codes(shop: Shop) -> None:
    baoji = shop.get(URL + "0917-3212345", as_user="agent").json()
    assert (baoji["city"], baoji["source"]) == ("宝鸡市", "area_code")
    shared = shop.get(URL + "029-87654321", as_user="agent").json()
    assert (shared["province"], shared["city"], shared["source"]) == ("陕西省", None, "area_code")
    assert shared["candidates"] == ["西安市", "咸阳市", "杨凌示范区"]
    assert shared["station_id"] is None


def test_a_400_number_is_no_region(shop: Shop) -> None:
    body = shop.get(URL + "4006360888", as_user="agent").json()
    assert (body["kind"], body["source"], body["province"], body["city"]) == (
        "service",
        "unknown",
        None,
        None,
    )


def test_invalid_phone_is_a_bilingual_422(shop: Shop) -> None:
    response = shop.get(URL + "12345", as_user="agent")
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "phone.invalid"
    assert "电话号码无效" in body["message_zh"] and "Invalid phone number" in body["message_en"]


@pytest.mark.parametrize(
    ("user", "status"),
    [("agent", 200), ("dispatcher", 200), ("manager", 200), ("owner", 200), ("courier", 403)],
)
def test_agents_and_up_may_look_up(shop: Shop, user: str, status: int) -> None:
    assert shop.get(URL + "13991001234", as_user=user).status_code == status


def test_needs_login(shop: Shop) -> None:
    response = shop.client.get(URL + "13991001234")
    assert response.status_code == 401
    assert response.json()["message_zh"]


def test_station_open_follows_holiday_hours_set_through_the_station_api(shop: Shop) -> None:
    national_day = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)  # Thursday 10:00 in Xi'an, a public holiday
    shop.clock.current = national_day
    hours = [{"weekday": d, "opens": "08:00", "closes": "18:00"} for d in range(5)]
    holiday = {"weekday": 7, "opens": "09:00", "closes": "12:00"}
    response = shop.client.patch(
        f"/api/stations/{shop.ids['xianyang']}",
        headers=shop.auth("manager"),
        json={"hours": [*hours, holiday]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["hours"][-1]["weekday"] == 7

    assert shop.get(URL + "13991001234", as_user="agent").json()["station_open"] is True
    shop.clock.advance(3 * 60)  # 13:00: a Thursday's hours would be open, the holiday's are not
    assert shop.get(URL + "13991001234", as_user="agent").json()["station_open"] is False

    bad = shop.client.patch(
        f"/api/stations/{shop.ids['xianyang']}",
        headers=shop.auth("manager"),
        json={"hours": [{"weekday": 8, "opens": "09:00", "closes": "12:00"}]},
    )
    assert bad.status_code == 422


def test_override_table_decides_a_year_the_package_does_not_know(shop: Shop) -> None:
    saturday = datetime(2031, 2, 8, 2, 0, tzinfo=UTC)  # 10:00 in Xi'an; the package stops at 2026
    shop.clock.current = saturday
    weekdays = [{"weekday": d, "opens": "08:00", "closes": "18:00"} for d in range(5)]
    response = shop.client.patch(
        f"/api/stations/{shop.ids['xianyang']}", headers=shop.auth("manager"), json={"hours": weekdays}
    )
    assert response.status_code == 200, response.text
    assert shop.get(URL + "13991001234", as_user="agent").json()["station_open"] is False

    with shop.uow_factory() as uow:
        uow.holidays.replace_all([HolidayOverride(date(2031, 2, 8), True, "2031 春节调休", saturday)])
        uow.commit()

    assert shop.get(URL + "13991001234", as_user="agent").json()["station_open"] is True
