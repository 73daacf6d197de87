"""SMS log route: filter by order and phone; roles."""

from __future__ import annotations

from .conftest import Shop


def test_sms_log_by_order_and_phone(shop: Shop) -> None:
    first = shop.order(shop.customer(phone="13912345678")["id"])
    shop.order(shop.customer(phone="13812345678")["id"])
    shop.post(f"/api/orders/{first['id']}/transitions", {"to": "cancelled", "reason": "客户改约"}, "agent")

    by_order = shop.get("/api/sms", as_user="agent", order_id=first["id"]).json()
    by_phone = shop.get("/api/sms", phone="+86 139 1234 5678").json()

    assert [m["to"] for m in by_order] == ["13912345678", "13912345678"]
    assert "已取消" in by_order[0]["text"] and "已派送" in by_order[1]["text"]
    assert {m["id"] for m in by_phone} == {m["id"] for m in by_order}
    assert all(m["state"] == "pending" and m["segments"] >= 1 for m in by_order)
    assert len(shop.get("/api/sms").json()) == 3
    assert shop.get("/api/sms", state="sent").json() == []


def test_landline_only_customer_gets_no_sms(shop: Shop) -> None:
    order = shop.order(shop.customer(phone="029-8888 1234")["id"])

    assert shop.get("/api/sms", order_id=order["id"]).json() == []


def test_bad_phone_and_roles(shop: Shop) -> None:
    assert shop.get("/api/sms", phone="abc").status_code == 422
    assert shop.get("/api/sms", as_user="courier").status_code == 403
    assert shop.client.get("/api/sms").status_code == 401
