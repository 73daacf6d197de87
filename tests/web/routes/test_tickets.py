"""Ticket routes: sell, balances, ledger, adjustments; overdraw refused."""

from __future__ import annotations

from typing import Any

from .conftest import Shop


def _sale(shop: Shop, customer_id: int, quantity: int = 22, **extra: Any) -> Any:
    body = {
        "customer_id": customer_id,
        "product_id": shop.ids["water"],
        "quantity": quantity,
        "price_fen": 40000,
    }
    return shop.post("/api/tickets/sales", {**body, **extra}, as_user="agent")


def test_sell_then_balance_and_ledger(shop: Shop) -> None:
    customer = shop.customer()
    sold = _sale(shop, customer["id"], note="买20送2")
    assert sold.status_code == 201, sold.text
    assert sold.json()["kind"] == "sale" and sold.json()["balance_after"] == 22

    station = _sale(shop, customer["id"], quantity=5, station_id=shop.ids["yanta"])
    assert station.status_code == 201

    balances = shop.get("/api/tickets", as_user="agent", customer_id=customer["id"]).json()
    assert [(b["station_id"], b["balance"]) for b in balances] == [(None, 22), (shop.ids["yanta"], 5)]
    ledger = shop.get("/api/tickets/ledger", customer_id=customer["id"]).json()
    assert [e["quantity"] for e in ledger] == [22, 5]
    assert ledger[0]["note"] == "买20送2" and ledger[0]["price_fen"] == 40000


def test_delivery_spends_station_tickets_first(shop: Shop) -> None:
    customer = shop.customer()
    _sale(shop, customer["id"], quantity=10)
    _sale(shop, customer["id"], quantity=1, station_id=shop.ids["yanta"])
    order = shop.order(customer["id"], quantity=2, pay_with_tickets=True)
    shop.post(f"/api/orders/{order['id']}/transitions", {"to": "delivering"}, as_user="dispatcher")
    shop.post(f"/api/orders/{order['id']}/transitions", {"to": "delivered"}, as_user="dispatcher")

    balances = shop.get("/api/tickets", customer_id=customer["id"]).json()

    assert [(b["station_id"], b["balance"]) for b in balances] == [(None, 9), (shop.ids["yanta"], 0)]
    kinds = [e["kind"] for e in shop.get("/api/tickets/ledger", customer_id=customer["id"]).json()]
    assert kinds == ["sale", "sale", "consumption", "consumption"]


def test_adjustment_cannot_overdraw_and_needs_a_reason(shop: Shop) -> None:
    customer = shop.customer()
    _sale(shop, customer["id"], quantity=3)
    body = {"customer_id": customer["id"], "product_id": shop.ids["water"], "delta": -5, "reason": "盘点"}

    overdraw = shop.post("/api/tickets/adjustments", body, as_user="dispatcher")
    assert overdraw.status_code == 409
    assert overdraw.json()["error"] == "ticket.overdraw"
    assert "余额不足" in overdraw.json()["message_zh"]
    no_reason = shop.post(
        "/api/tickets/adjustments", {**body, "delta": -1, "reason": " "}, as_user="dispatcher"
    )
    assert no_reason.status_code == 422
    ok = shop.post("/api/tickets/adjustments", {**body, "delta": -1}, as_user="dispatcher")
    assert ok.status_code == 201 and ok.json()["balance_after"] == 2
    assert shop.post("/api/tickets/adjustments", {**body, "delta": 1}, as_user="agent").status_code == 403


def test_bad_sales(shop: Shop) -> None:
    customer = shop.customer()
    assert _sale(shop, customer["id"], quantity=0).status_code == 422
    assert _sale(shop, customer["id"], quantity=2, price_fen=-1).status_code == 422
    assert _sale(shop, 999999).status_code == 404
    assert shop.get("/api/tickets/ledger", customer_id=customer["id"]).json() == []
    assert shop.get("/api/tickets", customer_id=999999).status_code == 404


def test_roles(shop: Shop) -> None:
    customer = shop.customer()
    assert shop.get("/api/tickets", as_user="courier", customer_id=customer["id"]).status_code == 403
    body = {"customer_id": customer["id"], "product_id": shop.ids["water"], "quantity": 1, "price_fen": 1}
    assert shop.post("/api/tickets/sales", body, as_user="courier").status_code == 403
    assert shop.client.get("/api/tickets", params={"customer_id": customer["id"]}).status_code == 401
