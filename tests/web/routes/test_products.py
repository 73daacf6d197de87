"""Product routes: list, read, create, change; roles; bilingual 4xx."""

from __future__ import annotations

from .conftest import Shop


def test_list_shows_prices_in_fen(shop: Shop) -> None:
    response = shop.get("/api/products", as_user="courier")

    assert response.status_code == 200
    water = next(p for p in response.json() if p["id"] == shop.ids["water"])
    assert water["price_fen"] == 2000 and water["returnable"] is True and water["kind"] == "barrel"


def test_manager_adds_and_retires_a_product(shop: Shop) -> None:
    body = {"sku": "QLSQ-189", "name": "秦岭山泉 18.9L", "brand": "秦岭山泉", "price_fen": 1500}
    created = shop.post("/api/products", body, as_user="manager")
    assert created.status_code == 201, created.text
    product_id = created.json()["id"]

    changed = shop.client.patch(
        f"/api/products/{product_id}", headers=shop.auth("manager"), json={"active": False, "price_fen": 1600}
    )

    assert changed.status_code == 200
    assert (changed.json()["active"], changed.json()["price_fen"]) == (False, 1600)
    on_sale = [p["id"] for p in shop.get("/api/products", active_only=True).json()]
    assert product_id not in on_sale and shop.ids["water"] in on_sale
    assert shop.get(f"/api/products/{product_id}").json()["sku"] == "QLSQ-189"


def test_retired_product_cannot_be_ordered(shop: Shop) -> None:
    shop.client.patch(
        f"/api/products/{shop.ids['other']}", headers=shop.auth("manager"), json={"active": False}
    )
    customer = shop.customer()
    body = {"customer_id": customer["id"], "items": [{"product_id": shop.ids["other"], "quantity": 1}]}

    response = shop.post("/api/orders", body, as_user="agent")

    assert response.status_code == 422 and response.json()["error"] == "product.inactive"


def test_negative_price_and_duplicate_sku(shop: Shop) -> None:
    negative = shop.post("/api/products", {"sku": "X-1", "name": "x", "price_fen": -1}, as_user="manager")
    assert negative.status_code == 422
    assert negative.json()["error"] == "product.bad_price"
    duplicate = shop.post(
        "/api/products", {"sku": "NFS-189", "name": "x", "price_fen": 100}, as_user="manager"
    )
    assert duplicate.status_code == 409
    assert shop.get("/api/products/999999").status_code == 404


def test_only_managers_and_owners_change_the_catalogue(shop: Shop) -> None:
    body = {"sku": "X-2", "name": "x", "price_fen": 100}
    for role in ("agent", "dispatcher", "courier"):
        assert shop.post("/api/products", body, as_user=role).status_code == 403
    assert shop.client.get("/api/products").status_code == 401
