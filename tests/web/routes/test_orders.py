"""Order routes: the placement contract, transitions (409 when illegal), filters, roles, courier view."""

from __future__ import annotations

from typing import Any

from .conftest import Shop


def _transition(shop: Shop, order_id: int, as_user: str = "dispatcher", **body: Any) -> Any:
    return shop.post(f"/api/orders/{order_id}/transitions", body, as_user=as_user)


def test_place_order_contract(shop: Shop) -> None:
    customer = shop.customer()
    response = shop.post(
        "/api/orders",
        {
            "customer_id": customer["id"],
            "address_id": customer["addresses"][0]["id"],
            "items": [{"product_id": shop.ids["water"], "quantity": 2}],
            "channel": "agent",
            "pay_with_tickets": False,
        },
        as_user="agent",
    )

    assert response.status_code == 201, response.text
    order = response.json()
    assert isinstance(order["id"], int)
    assert order["number"] == "SX20261125-0001"
    assert order["state"] == "dispatched"
    assert order["station_id"] == shop.ids["yanta"]  # 雁塔区 is in its service area
    assert order["courier_id"] == shop.ids["wang"]
    assert order["eta"] is not None and order["eta"] > order["placed_at"]
    assert order["total_fen"] == 4000 and order["units"] == 2
    assert [t["to_state"] for t in order["transitions"]] == ["placed", "dispatched"]


def test_default_address_is_used_and_numbers_count_up(shop: Shop) -> None:
    customer = shop.customer()
    first = shop.order(customer["id"])
    second = shop.order(customer["id"])

    assert first["address_id"] == customer["addresses"][0]["id"]
    assert (first["number"], second["number"]) == ("SX20261125-0001", "SX20261125-0002")


def test_placing_an_order_queues_the_sms_in_the_same_transaction(shop: Shop) -> None:
    customer = shop.customer(phone="13912345678")
    order = shop.order(customer["id"])

    sms = shop.get("/api/sms", as_user="agent", order_id=order["id"]).json()
    assert len(sms) == 1
    assert sms[0]["to"] == "13912345678"
    assert order["number"] in sms[0]["text"] and "王师傅" in sms[0]["text"]
    assert sms[0]["state"] == "pending"


def test_full_life_cycle_with_empties_and_tickets(shop: Shop) -> None:
    customer = shop.customer()
    sale = {"customer_id": customer["id"], "product_id": shop.ids["water"], "quantity": 5, "price_fen": 9000}
    assert shop.post("/api/tickets/sales", sale, as_user="agent").status_code == 201
    order = shop.order(customer["id"], quantity=2, pay_with_tickets=True)

    shop.clock.advance(10)
    assert _transition(shop, order["id"], to="delivering").json()["state"] == "delivering"
    shop.clock.advance(20)
    delivered = _transition(shop, order["id"], to="delivered", empties_collected=0)
    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["tickets_used"] == 2
    closed = _transition(shop, order["id"], to="closed").json()

    assert closed["state"] == "closed"
    assert [t["to_state"] for t in closed["transitions"]] == [
        "placed",
        "dispatched",
        "delivering",
        "delivered",
        "closed",
    ]
    assert all(t["by"] for t in closed["transitions"])
    balances = shop.get("/api/tickets", customer_id=customer["id"]).json()
    assert balances[0]["balance"] == 3
    buckets = shop.get("/api/buckets", customer_id=customer["id"]).json()
    assert buckets["held"] == 2 and buckets["debt"] == 2
    courier = shop.get(f"/api/couriers/{shop.ids['wang']}").json()
    assert courier["load"] == 0 and courier["active_orders"] == 0


def test_illegal_transition_is_409_and_changes_nothing(shop: Shop) -> None:
    order = shop.order(shop.customer()["id"])

    response = _transition(shop, order["id"], to="closed")

    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "order.illegal_transition"
    assert (
        order["number"] in body["message_zh"] and "cannot go from dispatched to closed" in body["message_en"]
    )
    assert shop.get(f"/api/orders/{order['id']}").json()["state"] == "dispatched"


def test_cancel_needs_a_reason_and_frees_the_courier(shop: Shop) -> None:
    order = shop.order(shop.customer()["id"], quantity=3)

    no_reason = _transition(shop, order["id"], as_user="agent", to="cancelled")
    assert no_reason.status_code == 422
    assert no_reason.json()["error"] == "order.cancel_reason_required"
    assert shop.get(f"/api/couriers/{shop.ids['wang']}").json()["load"] == 3

    cancelled = _transition(shop, order["id"], as_user="agent", to="cancelled", reason="客户临时外出")
    assert cancelled.status_code == 200
    assert cancelled.json()["cancel_reason"] == "客户临时外出"
    assert shop.get(f"/api/couriers/{shop.ids['wang']}").json()["load"] == 0
    assert _transition(shop, order["id"], to="delivering").status_code == 409


def test_agent_may_cancel_but_not_deliver(shop: Shop) -> None:
    order = shop.order(shop.customer()["id"])

    response = _transition(shop, order["id"], as_user="agent", to="delivering")

    assert response.status_code == 403
    assert response.json()["error"] == "auth.forbidden"


def test_negative_quantity_is_422_and_nothing_is_written(shop: Shop) -> None:
    customer = shop.customer()
    body = {"customer_id": customer["id"], "items": [{"product_id": shop.ids["water"], "quantity": -2}]}

    response = shop.post("/api/orders", body, as_user="agent")

    assert response.status_code == 422
    error = response.json()
    assert error["error"] == "order.bad_quantity"
    assert "数量" in error["message_zh"] and "Quantity" in error["message_en"]
    assert shop.get("/api/orders").json() == []
    assert shop.get("/api/sms").json() == []


def test_ticket_overdraw_is_409_and_nothing_is_written(shop: Shop) -> None:
    customer = shop.customer()

    response = shop.post(
        "/api/orders",
        {
            "customer_id": customer["id"],
            "items": [{"product_id": shop.ids["water"], "quantity": 2}],
            "pay_with_tickets": True,
        },
        as_user="agent",
    )

    assert response.status_code == 409
    assert response.json()["error"] == "ticket.overdraw"
    assert shop.get("/api/orders").json() == []
    assert shop.get(f"/api/couriers/{shop.ids['wang']}").json()["load"] == 0
    # the number was not used up either
    assert shop.order(customer["id"])["number"] == "SX20261125-0001"


def test_unknown_customer_is_404_and_malformed_body_is_422(shop: Shop) -> None:
    body = {"customer_id": 999999, "items": [{"product_id": shop.ids["water"], "quantity": 1}]}
    assert shop.post("/api/orders", body, as_user="agent").status_code == 404
    malformed = shop.post("/api/orders", {"customer_id": "abc", "items": []}, as_user="agent")
    assert malformed.status_code == 422
    assert malformed.json()["error"] == "validation"


def test_address_of_another_customer_is_refused(shop: Shop) -> None:
    mine = shop.customer(phone="13912345678")
    other = shop.customer(phone="13812345678")
    body = {
        "customer_id": mine["id"],
        "address_id": other["addresses"][0]["id"],
        "items": [{"product_id": shop.ids["water"], "quantity": 1}],
    }

    response = shop.post("/api/orders", body, as_user="agent")

    assert response.status_code == 422
    assert response.json()["error"] == "address.not_of_customer"


def test_filters_by_state_station_and_date(shop: Shop) -> None:
    yanta = shop.order(shop.customer(phone="13912345678")["id"])
    weiyang = shop.order(shop.customer(phone="13812345678", district="未央区")["id"])
    _transition(shop, weiyang["id"], to="delivering")

    def ids(**params: Any) -> list[int]:
        response = shop.get("/api/orders", **params)
        assert response.status_code == 200, response.text
        return [o["id"] for o in response.json()]

    assert ids() == [weiyang["id"], yanta["id"]]
    assert ids(state="delivering") == [weiyang["id"]]
    assert ids(station_id=shop.ids["yanta"]) == [yanta["id"]]
    assert ids(courier_id=shop.ids["zhao"]) == [weiyang["id"]]
    assert ids(date="2026-11-25") == [weiyang["id"], yanta["id"]]
    assert ids(date="2026-11-24") == []
    assert ids(date_from="2026-11-20", date_to="2026-11-25") == [weiyang["id"], yanta["id"]]
    assert shop.get("/api/orders", date_from="2026-11-25", date_to="2026-11-20").status_code == 422
    assert shop.get("/api/orders", state="lost").status_code == 422


def test_manual_dispatch_to_a_courier(shop: Shop) -> None:
    customer = shop.customer()
    placed = shop.order(customer["id"], auto_dispatch=False)
    assert placed["state"] == "placed" and placed["courier_id"] is None

    assert shop.post(f"/api/orders/{placed['id']}/dispatch", {}, as_user="agent").status_code == 403
    response = shop.post(
        f"/api/orders/{placed['id']}/dispatch", {"courier_id": shop.ids["zhao"]}, as_user="dispatcher"
    )

    assert response.status_code == 200, response.text
    assert response.json()["courier_id"] == shop.ids["zhao"]
    assert response.json()["station_id"] == shop.ids["weiyang"]
    again = shop.post(f"/api/orders/{placed['id']}/dispatch", {}, as_user="dispatcher")
    assert again.status_code == 409


def test_roles_on_orders(shop: Shop) -> None:
    customer = shop.customer()
    body = {"customer_id": customer["id"], "items": [{"product_id": shop.ids["water"], "quantity": 1}]}
    assert shop.client.post("/api/orders", json=body).status_code == 401
    assert shop.post("/api/orders", body, as_user="courier").status_code == 403
    assert shop.client.get("/api/orders").status_code == 401
    for role in ("owner", "manager", "dispatcher", "agent"):
        assert shop.post("/api/orders", body, as_user=role).status_code == 201


def test_courier_sees_only_his_orders_and_phones_only_while_he_has_them(shop: Shop) -> None:
    mine = shop.order(shop.customer(phone="13912345678")["id"])  # 雁塔: 王师傅, the courier login
    theirs = shop.order(shop.customer(phone="13812345678", district="未央区")["id"])  # 赵师傅

    listed = shop.get("/api/orders", as_user="courier").json()
    assert [o["id"] for o in listed] == [mine["id"]]
    assert listed[0]["contact"]["phones"] == ["13912345678"]  # active: he must be able to call
    assert (
        shop.get("/api/orders", as_user="courier", courier_id=shop.ids["zhao"]).json()[0]["id"] == mine["id"]
    )
    assert shop.get(f"/api/orders/{theirs['id']}", as_user="courier").status_code == 404

    assert _transition(shop, mine["id"], as_user="courier", to="delivering").status_code == 200
    assert _transition(shop, mine["id"], as_user="courier", to="delivered").status_code == 200
    after = shop.get(f"/api/orders/{mine['id']}", as_user="courier").json()
    assert after["state"] == "delivered"
    assert after["contact"]["phones"] == ["139****5678"]  # delivered: no longer his business
    # staff always see the number
    assert shop.get(f"/api/orders/{mine['id']}", as_user="agent").json()["contact"]["phones"] == [
        "13912345678"
    ]


def test_courier_may_not_close_cancel_or_touch_other_orders(shop: Shop) -> None:
    mine = shop.order(shop.customer(phone="13912345678")["id"])
    theirs = shop.order(shop.customer(phone="13812345678", district="未央区")["id"])

    assert _transition(shop, theirs["id"], as_user="courier", to="delivering").status_code == 404
    assert _transition(shop, mine["id"], as_user="courier", to="cancelled", reason="x").status_code == 403
    _transition(shop, mine["id"], as_user="courier", to="delivering")
    _transition(shop, mine["id"], as_user="courier", to="delivered")
    assert _transition(shop, mine["id"], as_user="courier", to="closed").status_code == 403
    assert shop.get(f"/api/orders/{theirs['id']}").json()["state"] == "dispatched"


def test_courier_login_without_a_courier_record_sees_nothing(shop: Shop) -> None:
    shop.order(shop.customer()["id"])

    assert shop.get("/api/orders", as_user="courier2").json() == []
