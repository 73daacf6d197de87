"""Station routes: list, read, create, change; unknown districts refused."""

from __future__ import annotations

from .conftest import Shop


def test_list_has_coordinates_and_service_areas(shop: Shop) -> None:
    stations = shop.get("/api/stations", as_user="agent").json()

    yanta = next(s for s in stations if s["id"] == shop.ids["yanta"])
    assert yanta["city"] == "西安市" and yanta["service_districts"] == ["雁塔区", "曲江新区"]
    assert abs(yanta["lat"] - 34.2135) < 1e-9 and yanta["hours"][0]["opens"] == "07:00:00"


def test_manager_opens_a_station_with_short_district_names(shop: Shop) -> None:
    body = {
        "name": "宝鸡经二路站",
        "city": "宝鸡",
        "district": "渭滨",
        "lat": 34.3595,
        "lon": 107.1548,
        "service_districts": ["渭滨", "金台区", "渭滨区"],
        "phone": "0917-325 1007",
        "hours": [{"weekday": 0, "opens": "08:00", "closes": "20:00"}],
    }

    response = shop.post("/api/stations", body, as_user="manager")

    assert response.status_code == 201, response.text
    station = response.json()
    assert (station["city"], station["district"]) == ("宝鸡市", "渭滨区")
    assert station["service_districts"] == ["渭滨区", "金台区"]
    assert station["phone"] == "09173251007"
    assert shop.get(f"/api/stations/{station['id']}").json()["hours"][0]["closes"] == "20:00:00"


def test_orders_in_a_new_service_district_go_to_that_station(shop: Shop) -> None:
    # 灞桥区 has no station; after 未央 takes it over its orders go there
    response = shop.client.patch(
        f"/api/stations/{shop.ids['weiyang']}",
        headers=shop.auth("manager"),
        json={"service_districts": ["未央区", "经开区", "灞桥区"]},
    )
    assert response.status_code == 200, response.text

    order = shop.order(shop.customer(district="灞桥区")["id"])

    assert order["station_id"] == shop.ids["weiyang"]


def test_unknown_district_is_422(shop: Shop) -> None:
    body = {"name": "火星站", "city": "西安市", "district": "火星区", "lat": 34.2, "lon": 108.9}

    response = shop.post("/api/stations", body, as_user="manager")

    assert response.status_code == 422
    assert response.json()["error"] == "address.unknown_district"
    assert len(shop.get("/api/stations").json()) == 3


def test_roles(shop: Shop) -> None:
    body = {"name": "新站", "city": "西安市", "district": "碑林区", "lat": 34.25, "lon": 108.94}
    assert shop.post("/api/stations", body, as_user="dispatcher").status_code == 403
    assert shop.get("/api/stations", as_user="courier").status_code == 200
    assert shop.get("/api/stations/999999").status_code == 404
