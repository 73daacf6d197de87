"""Customer routes: create, search, read, update, the screen-pop lookup; roles; bilingual 4xx."""

from __future__ import annotations

from .conftest import Shop


def test_create_returns_the_customer_with_canonical_phones_and_addresses(shop: Shop) -> None:
    created = shop.customer(phone="+86 139-1234-5678", name="张伟", tier="vip", tags=["老客户"])

    assert created["phones"] == ["13912345678"]
    assert created["phone_details"][0]["display"] == "139 1234 5678"
    (address,) = created["addresses"]
    assert address["city"] == "西安市" and address["district"] == "雁塔区" and address["is_default"]
    assert isinstance(address["id"], int)
    assert created["tier"] == "vip" and created["tags"] == ["老客户"]


def test_lookup_is_the_screen_pop_in_one_call(shop: Shop) -> None:
    created = shop.customer(phone="13912345678")
    shop.post(
        "/api/tickets/sales",
        {"customer_id": created["id"], "product_id": shop.ids["water"], "quantity": 10, "price_fen": 18000},
        as_user="agent",
    )
    for _ in range(6):
        shop.order(created["id"], quantity=1)

    response = shop.get("/api/customers/lookup", as_user="agent", phone="139 1234 5678")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == created["id"]
    assert body["phones"] == ["13912345678"]
    assert body["addresses"][0]["id"] == created["addresses"][0]["id"]
    assert len(body["last_orders"]) == 5
    numbers = [o["number"] for o in body["last_orders"]]
    assert numbers == sorted(numbers, reverse=True)
    assert body["tickets"] == [
        {"customer_id": created["id"], "product_id": shop.ids["water"], "station_id": None, "balance": 10}
    ]
    assert body["buckets"] == {
        "customer_id": created["id"],
        "held": 0,
        "entitlement": 0,
        "over": 0,
        "debt": 0,
    }


def test_lookup_of_an_unknown_number_is_404_in_both_languages(shop: Shop) -> None:
    response = shop.get("/api/customers/lookup", phone="13800000000")

    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "not_found"
    assert "未找到" in body["message_zh"] and "not found" in body["message_en"]


def test_lookup_of_something_that_is_no_phone_is_422(shop: Shop) -> None:
    response = shop.get("/api/customers/lookup", phone="hello")

    assert response.status_code == 422
    assert response.json()["error"] == "phone.invalid"


def test_list_filters_by_phone_prefix_and_text(shop: Shop) -> None:
    a = shop.customer(phone="13912345678", name="张伟")
    b = shop.customer(phone="13912349999", name="李娜", district="未央区")
    shop.customer(phone="13800001111", name="王芳")

    by_prefix = shop.get("/api/customers", phone="139 1234").json()
    assert [c["id"] for c in by_prefix] == [a["id"], b["id"]]
    assert [c["id"] for c in shop.get("/api/customers", q="李").json()] == [b["id"]]
    assert [c["id"] for c in shop.get("/api/customers", q="未央").json()] == [b["id"]]
    assert [c["id"] for c in shop.get("/api/customers", limit=1, offset=1).json()] == [b["id"]]


def test_list_rejects_a_page_size_out_of_range(shop: Shop) -> None:
    response = shop.get("/api/customers", limit=0)

    assert response.status_code == 422
    assert response.json()["message_zh"].startswith("请求数据无效")


def test_get_one_and_404(shop: Shop) -> None:
    created = shop.customer()

    assert shop.get(f"/api/customers/{created['id']}").json()["name"] == "张伟"
    assert shop.get("/api/customers/999999").status_code == 404


def test_update_adds_a_phone_and_an_address_and_changes_notes(shop: Shop) -> None:
    created = shop.customer()
    response = shop.client.patch(
        f"/api/customers/{created['id']}",
        headers=shop.auth("agent"),
        json={
            "add_phones": ["029-8888 1234"],
            "add_addresses": [
                {"city": "西安", "district": "高新", "detail": "锦业路1号", "is_default": True}
            ],
            "notes": "送货前电话",
        },
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["phones"] == ["13912345678", "02988881234"]
    assert [a["district"] for a in body["addresses"]] == ["雁塔区", "高新区"]
    assert [a["is_default"] for a in body["addresses"]] == [False, True]
    assert body["notes"] == "送货前电话"
    assert shop.get("/api/customers/lookup", phone="02988881234").json()["id"] == created["id"]


def test_unknown_district_is_422_and_nothing_is_written(shop: Shop) -> None:
    body = {
        "name": "王五",
        "phones": ["13712345678"],
        "addresses": [{"city": "西安市", "district": "火星区", "detail": "某路1号"}],
    }
    response = shop.post("/api/customers", body, as_user="agent")

    assert response.status_code == 422
    error = response.json()
    assert error["error"] == "address.unknown_district"
    assert "火星区" in error["message_zh"] and "Unknown district" in error["message_en"]
    assert shop.get("/api/customers/lookup", phone="13712345678").status_code == 404


def test_invalid_phone_is_422(shop: Shop) -> None:
    response = shop.post("/api/customers", {"name": "王五", "phones": ["12345"]}, as_user="agent")

    assert response.status_code == 422
    assert response.json()["error"] == "phone.invalid"


def test_a_phone_of_another_customer_is_409(shop: Shop) -> None:
    shop.customer(phone="13912345678")
    response = shop.post("/api/customers", {"name": "重复", "phones": ["13912345678"]}, as_user="agent")

    assert response.status_code == 409
    assert response.json()["error"] == "phone.duplicate"


def test_roles(shop: Shop) -> None:
    assert shop.client.get("/api/customers").status_code == 401
    assert shop.get("/api/customers", as_user="courier").status_code == 403
    assert shop.get("/api/customers/lookup", as_user="courier", phone="13912345678").status_code == 403
    forbidden = shop.post("/api/customers", {"name": "x", "phones": ["13912345678"]}, as_user="courier")
    assert forbidden.status_code == 403
    assert forbidden.json()["message_zh"].startswith("没有权限")
    for role in ("owner", "manager", "dispatcher", "agent"):
        assert shop.get("/api/customers", as_user=role).status_code == 200
