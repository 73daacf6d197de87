"""/api/deliveries: a courier reports a problem with his own order; the work list gets the task."""

from __future__ import annotations

from .conftest import Shop


def test_courier_reports_a_problem_and_the_hotline_sees_the_task(shop: Shop) -> None:
    order = shop.order(shop.customer(phone="13912345678")["id"])
    assert order["courier_id"] == shop.ids["wang"]  # the ``courier`` login
    url = f"/api/deliveries/{order['id']}/issues"
    response = shop.post(url, {"issue": "not_home", "note": "电话无人接"}, as_user="courier")
    assert response.status_code == 201, response.text
    task = response.json()
    assert task["kind"] == "delivery_issue" and task["caller"] == "13912345678"
    assert task["note"] == f"{order['number']} 客户不在家：电话无人接"
    work = shop.get("/api/tasks", as_user="agent", state="open").json()
    assert [t["id"] for t in work] == [task["id"]]
    assert shop.get(f"/api/orders/{order['id']}").json()["state"] == "dispatched"


def test_only_his_own_open_orders(shop: Shop) -> None:
    order = shop.order(shop.customer()["id"])
    url = f"/api/deliveries/{order['id']}/issues"
    assert shop.post(url, {"issue": "refused"}, as_user="courier2").status_code == 404
    assert shop.post(url, {"issue": "refused"}, as_user="dispatcher").status_code == 403
    assert shop.post(url, {"issue": "lost"}, as_user="courier").status_code == 422
    for step in ("delivering", "delivered"):
        moved = shop.post(f"/api/orders/{order['id']}/transitions", {"to": step}, as_user="courier")
        assert moved.status_code == 200, moved.text
    late = shop.post(url, {"issue": "refused"}, as_user="courier")
    assert late.status_code == 409 and late.json()["message_zh"]
