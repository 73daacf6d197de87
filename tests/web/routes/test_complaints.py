"""POST /api/complaints (an agent files a ticket) and GET /api/customers/{id}/complaints (his card)."""

from __future__ import annotations

from .conftest import Shop


def test_an_agent_files_a_complaint_about_a_customer(shop: Shop) -> None:
    customer = shop.customer(phone="13912345678")
    filed = shop.post(
        "/api/complaints",
        {"reason": "水质问题", "note": "水有异味", "customer_id": customer["id"], "call_id": "call-7"},
        as_user="agent",
    )
    assert filed.status_code == 201, filed.text
    ticket = filed.json()
    # the caller defaults to the customer's first phone
    assert (ticket["reason"], ticket["note"], ticket["caller"], ticket["call_id"]) == (
        "水质问题", "水有异味", "13912345678", "call-7",
    )
    card = shop.get(f"/api/customers/{customer['id']}/complaints", as_user="agent")
    assert card.status_code == 200 and [c["id"] for c in card.json()] == [ticket["id"]]
    # the dispatchers' work list has it too
    assert [c["id"] for c in shop.get("/api/complaints", as_user="dispatcher").json()] == [ticket["id"]]


def test_a_complaint_without_customer_keeps_the_number_given(shop: Shop) -> None:
    filed = shop.post("/api/complaints", {"reason": "其他", "caller": "029-8888 1234"}, as_user="agent")
    assert filed.status_code == 201 and filed.json()["caller"] == "02988881234"
    assert filed.json()["customer_id"] is None


def test_bad_complaints_are_refused(shop: Shop) -> None:
    def status(body: dict[str, object]) -> int:
        return int(shop.post("/api/complaints", body, as_user="agent").status_code)

    assert status({"reason": ""}) == 422
    assert status({"reason": "   "}) == 422
    assert status({"reason": "x", "caller": "not a phone"}) == 422
    assert status({"reason": "x", "customer_id": 99999}) == 404
    assert shop.get("/api/customers/99999/complaints", as_user="agent").status_code == 404


def test_couriers_neither_file_nor_read_complaints(shop: Shop) -> None:
    customer = shop.customer()
    assert shop.post("/api/complaints", {"reason": "x"}, as_user="courier").status_code == 403
    assert shop.get(f"/api/customers/{customer['id']}/complaints", as_user="courier").status_code == 403
