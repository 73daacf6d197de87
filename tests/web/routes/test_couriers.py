"""Courier routes: list, create, change, on/off duty (by dispatchers, or a courier for himself)."""

from __future__ import annotations

from .conftest import Shop


def test_list_by_station_with_load(shop: Shop) -> None:
    response = shop.get("/api/couriers", as_user="agent", station_id=shop.ids["yanta"])

    assert response.status_code == 200
    (wang,) = response.json()
    assert (wang["name"], wang["load"], wang["on_duty"]) == ("王师傅", 0, True)
    assert wang["user_id"] == shop.users["courier"]


def test_dispatcher_adds_a_courier_who_then_gets_orders(shop: Shop) -> None:
    body = {
        "station_id": shop.ids["xianyang"],
        "name": "冯亮",
        "mobile": "138 9101 5522",
        "capacity_per_trip": 15,
    }
    response = shop.post("/api/couriers", body, as_user="dispatcher")
    assert response.status_code == 201, response.text
    courier = response.json()
    assert courier["mobile"] == "13891015522"

    customer = shop.post(
        "/api/customers",
        {
            "name": "咸阳客户",
            "phones": ["13892001234"],
            "addresses": [{"city": "咸阳", "district": "秦都", "detail": "人民路8号"}],
        },
        as_user="agent",
    ).json()
    order = shop.order(customer["id"])
    assert (order["station_id"], order["courier_id"]) == (shop.ids["xianyang"], courier["id"])


def test_off_duty_courier_gets_no_orders(shop: Shop) -> None:
    off = shop.post(f"/api/couriers/{shop.ids['wang']}/duty", {"on_duty": False}, as_user="dispatcher")
    assert off.status_code == 200 and off.json()["on_duty"] is False

    order = shop.order(shop.customer()["id"])

    assert order["state"] == "placed" and order["courier_id"] is None
    assert order["station_id"] == shop.ids["yanta"]


def test_courier_switches_his_own_duty_only(shop: Shop) -> None:
    mine = shop.post(f"/api/couriers/{shop.ids['wang']}/duty", {"on_duty": False}, as_user="courier")
    assert mine.status_code == 200 and mine.json()["on_duty"] is False
    theirs = shop.post(f"/api/couriers/{shop.ids['zhao']}/duty", {"on_duty": False}, as_user="courier")
    assert theirs.status_code == 403
    assert theirs.json()["message_en"].startswith("Forbidden")
    assert shop.get("/api/couriers/me", as_user="courier").json()["id"] == shop.ids["wang"]
    assert shop.get("/api/couriers/me", as_user="courier2").status_code == 404


def test_change_and_moving_a_busy_courier_is_409(shop: Shop) -> None:
    patch = shop.client.patch(
        f"/api/couriers/{shop.ids['zhao']}", headers=shop.auth("dispatcher"), json={"capacity_per_trip": 30}
    )
    assert patch.json()["capacity_per_trip"] == 30
    shop.order(shop.customer()["id"])  # goes to 王师傅 at 雁塔

    moved = shop.client.patch(
        f"/api/couriers/{shop.ids['wang']}",
        headers=shop.auth("dispatcher"),
        json={"station_id": shop.ids["weiyang"]},
    )

    assert moved.status_code == 409
    assert moved.json()["error"] == "courier.busy"


def test_bad_input_and_roles(shop: Shop) -> None:
    landline = {"station_id": shop.ids["yanta"], "name": "x", "mobile": "029-8888 1234"}
    assert shop.post("/api/couriers", landline, as_user="dispatcher").status_code == 422
    unknown = {"station_id": 999999, "name": "x", "mobile": "13991110009"}
    assert shop.post("/api/couriers", unknown, as_user="dispatcher").status_code == 404
    good = {"station_id": shop.ids["yanta"], "name": "x", "mobile": "13991110009"}
    assert shop.post("/api/couriers", good, as_user="agent").status_code == 403
    assert shop.get("/api/couriers", as_user="courier").status_code == 403
