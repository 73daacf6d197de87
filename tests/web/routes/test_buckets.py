"""Bucket routes: position, ledger, deposits, refunds, adjustments, collections."""

from __future__ import annotations

from .conftest import Shop


def test_deposit_delivery_and_collection_give_the_position(shop: Shop) -> None:
    customer = shop.customer()
    cid = customer["id"]
    deposit = {"customer_id": cid, "quantity": 2, "amount_fen": 10000, "note": "开户押桶"}
    assert shop.post("/api/buckets/deposits", deposit, as_user="dispatcher").status_code == 201
    order = shop.order(cid, quantity=3)
    shop.post(f"/api/orders/{order['id']}/transitions", {"to": "delivering"}, as_user="dispatcher")
    shop.post(
        f"/api/orders/{order['id']}/transitions", {"to": "delivered", "empties_collected": 0}, "dispatcher"
    )

    position = shop.get("/api/buckets", as_user="agent", customer_id=cid).json()
    assert position == {"customer_id": cid, "held": 3, "entitlement": 2, "over": 1, "debt": 1}

    collected = shop.post(
        "/api/buckets/collections", {"customer_id": cid, "quantity": 1}, as_user="dispatcher"
    )
    assert collected.status_code == 201 and collected.json()["held_after"] == 2
    ledger = shop.get("/api/buckets/ledger", customer_id=cid).json()
    assert [e["kind"] for e in ledger] == ["deposit", "delivered", "collected"]
    assert [e["seq"] for e in ledger] == [1, 2, 3]


def test_collecting_more_than_held_and_over_refund_are_refused(shop: Shop) -> None:
    cid = shop.customer()["id"]

    too_many = shop.post(
        "/api/buckets/collections", {"customer_id": cid, "quantity": 1}, as_user="dispatcher"
    )
    assert too_many.status_code == 422
    assert too_many.json()["error"] == "bucket.collect_exceeds"
    refund = shop.post(
        "/api/buckets/refunds", {"customer_id": cid, "quantity": 1, "amount_fen": 5000}, "dispatcher"
    )
    assert refund.status_code == 422 and refund.json()["error"] == "bucket.refund_exceeds"
    assert shop.get("/api/buckets/ledger", customer_id=cid).json() == []


def test_adjustment_with_reason(shop: Shop) -> None:
    cid = shop.customer()["id"]
    body = {"customer_id": cid, "held_delta": 2, "entitlement_delta": 1, "reason": "上门盘点"}

    response = shop.post("/api/buckets/adjustments", body, as_user="manager")

    assert response.status_code == 201, response.text
    assert (response.json()["held_after"], response.json()["entitlement_after"]) == (2, 1)
    negative = shop.post("/api/buckets/adjustments", {**body, "held_delta": -5}, as_user="manager")
    assert negative.status_code == 422


def test_empties_on_delivery_cannot_exceed_what_the_customer_holds(shop: Shop) -> None:
    cid = shop.customer()["id"]
    order = shop.order(cid, quantity=1)
    shop.post(f"/api/orders/{order['id']}/transitions", {"to": "delivering"}, as_user="dispatcher")

    response = shop.post(
        f"/api/orders/{order['id']}/transitions",
        {"to": "delivered", "empties_collected": 5},
        as_user="dispatcher",
    )

    assert response.status_code == 422
    assert shop.get(f"/api/orders/{order['id']}").json()["state"] == "delivering"
    assert shop.get("/api/buckets/ledger", customer_id=cid).json() == []


def test_roles(shop: Shop) -> None:
    cid = shop.customer()["id"]
    body = {"customer_id": cid, "quantity": 1, "amount_fen": 5000}
    assert shop.post("/api/buckets/deposits", body, as_user="agent").status_code == 403
    assert shop.get("/api/buckets", as_user="courier", customer_id=cid).status_code == 403
    assert shop.get("/api/buckets", as_user="agent", customer_id=999999).status_code == 404
