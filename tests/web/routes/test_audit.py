"""GET /api/audit: the changes made through the API, for managers and the owner."""

from __future__ import annotations

from .conftest import Shop


def test_managers_see_who_placed_and_changed_what(shop: Shop) -> None:
    customer = shop.customer(phone="13912345678")
    order = shop.order(customer["id"])
    changed = shop.client.patch(
        f"/api/customers/{customer['id']}", headers=shop.auth("agent"), json={"notes": "只送下午"}
    )
    assert changed.status_code == 200
    shop.client.app.state.audit.flush()  # type: ignore[attr-defined]
    listed = shop.get("/api/audit", as_user="manager")
    assert listed.status_code == 200, listed.text
    rows = listed.json()
    assert [(r["method"], r["route"]) for r in rows] == [
        ("PATCH", "/api/customers/{customer_id}"), ("POST", "/api/orders"), ("POST", "/api/customers"),
    ]
    assert all(r["username"] == "agent" and r["role"] == "agent" for r in rows)
    assert rows[0]["target"] == f"customer_id={customer['id']}" and "只送下午" in rows[0]["summary"]
    assert f'"customer_id":{customer["id"]}' in rows[1]["summary"] and rows[1]["status"] == 201
    assert order["number"]
    orders_only = shop.get("/api/audit", as_user="owner", resource="orders").json()
    assert [r["path"] for r in orders_only] == ["/api/orders"]
    mine = shop.get("/api/audit", as_user="owner", user_id=shop.users["manager"]).json()
    assert mine == []


def test_only_managers_and_the_owner_read_the_log(shop: Shop) -> None:
    for role in ("agent", "dispatcher", "courier"):
        assert shop.get("/api/audit", as_user=role).status_code == 403, role
