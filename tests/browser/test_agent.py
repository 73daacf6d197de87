"""The agent desktop in a real browser: state control, customer by phone -> card -> Enter places the
usual order, a new customer, a complaint ticket."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from typing import Any

import httpx


@contextlib.contextmanager
def agent_api(console: Any) -> Iterator[httpx.Client]:
    """An API client logged in as the demo agent (the same store the browser uses)."""
    with httpx.Client(base_url=console.url, timeout=30.0) as client:
        response = client.post("/api/auth/token", data={"username": "agent", "password": "agent123"})
        response.raise_for_status()
        client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        yield client


def a_customer_with_a_usual_order(api: httpx.Client) -> dict[str, Any]:
    for customer in api.get("/api/customers", params={"limit": 200}).json():
        if customer["preferences"]["usual_product_id"] and customer["addresses"]:
            return customer
    raise AssertionError("the demo data has no customer with a usual order")


def state_of(page: Any) -> str:
    return str(page.locator("#ag-state").get_attribute("data-state"))


def test_state_changes(console: Any) -> None:
    with agent_api(console) as api:
        response = api.post("/api/agents/me/state", json={"state": "logged_out"})
        # 409: logged out already (another test, or a reused server)
        assert response.status_code in (200, 409), response.text
    page = console.page_as("agent")
    page.locator("#ag-state[data-state=logged_out]").wait_for()
    assert page.locator("#ag-logout").is_disabled()
    page.click("#ag-available")
    page.locator("#ag-state[data-state=available]").wait_for()
    assert page.locator("#ag-state").inner_text() == "空闲"
    page.select_option("#ag-pause-reason", "培训")
    page.keyboard.press("F3")
    page.locator("#ag-state[data-state=paused]").wait_for()
    assert "培训" in page.locator("#ag-state-reason").inner_text()
    page.reload()
    page.locator("#ag-state[data-state=paused]").wait_for()
    page.keyboard.press("F2")
    page.locator("#ag-state[data-state=available]").wait_for()
    with agent_api(console) as api:
        me = api.get("/api/auth/me").json()
        mine = next(a for a in api.get("/api/agents").json() if a["id"] == me["id"])
        assert mine["state"] == "available"
        log = api.get(f"/api/agents/{me['id']}/states").json()
        assert [entry["to_state"] for entry in log[:2]] == ["available", "paused"]
        assert log[1]["reason"] == "培训"
    console.screenshot(page, "agent-desktop-state")
    page.click("#ag-logout")
    page.locator("#ag-state[data-state=logged_out]").wait_for()
    assert page.errors == []


def test_phone_search_card_and_enter_places_the_usual_order(console: Any) -> None:
    with agent_api(console) as api:
        customer = a_customer_with_a_usual_order(api)
        before = len(api.get("/api/orders", params={"customer_id": customer["id"], "limit": 500}).json())
    page = console.page_as("agent")
    page.keyboard.press("F4")
    page.keyboard.type(customer["phones"][0])
    page.keyboard.press("Enter")
    page.locator("#ag-customer").wait_for(state="visible")
    assert page.locator("#ag-customer-name").inner_text() == customer["name"]
    # the usual order is prefilled and the focus waits on the confirm button
    usual = customer["preferences"]
    assert page.input_value("#order-product") == str(usual["usual_product_id"])
    assert page.input_value("#order-quantity") == str(usual["usual_quantity"] or 1)
    assert page.evaluate("document.activeElement.id") == "order-submit"
    console.screenshot(page, "agent-desktop-card")
    page.keyboard.press("Enter")
    placed = page.locator("#order-placed")
    placed.wait_for(state="visible")
    number = placed.get_attribute("data-order-number")
    assert number and number in placed.inner_text() and "已下单" in placed.inner_text()
    # the card is refreshed: the new order is the first of the last orders
    page.locator("#ag-customer-orders tr").first.filter(has_text=number).wait_for()
    console.screenshot(page, "agent-desktop-order-placed")
    with agent_api(console) as api:
        orders = api.get("/api/orders", params={"customer_id": customer["id"], "limit": 500}).json()
        assert len(orders) == before + 1
        order = next(o for o in orders if o["number"] == number)
        assert order["channel"] == "agent"
        assert [(i["product_id"], i["quantity"]) for i in order["items"]] == [
            (usual["usual_product_id"], usual["usual_quantity"] or 1)
        ]
    assert page.errors == []


def test_an_unknown_number_opens_the_new_customer_form(console: Any) -> None:
    phone = f"139{random.randrange(10**8):08d}"
    page = console.page_as("agent")
    page.fill("#ag-search-phone", phone)
    page.keyboard.press("Enter")
    page.locator("#ag-new-customer").wait_for(state="visible")
    assert phone in page.locator("#ag-search-status").inner_text()
    assert page.input_value("#nc-phone") == phone
    page.fill("#nc-name", "测试新客户")
    page.select_option("#nc-city", "西安市")
    page.select_option("#nc-district", "雁塔区")
    assert "配送" in page.locator("#nc-station").inner_text()
    page.fill("#nc-detail", "科技路 10 号 3 号楼 2 单元 501")
    page.fill("#nc-floor", "5")
    page.check("#nc-elevator")
    console.screenshot(page, "agent-desktop-new-customer")
    page.click("#nc-submit")
    page.locator("#ag-customer").wait_for(state="visible")
    assert page.locator("#ag-customer-name").inner_text() == "测试新客户"
    assert page.locator("#ag-new-customer").is_hidden()
    # the new address is the order's address
    assert "科技路 10 号" in page.locator("#order-address option:checked").inner_text()
    with agent_api(console) as api:
        found = api.get("/api/customers/lookup", params={"phone": phone}).json()
        assert found["name"] == "测试新客户"
        assert found["addresses"][0]["district"] == "雁塔区" and found["addresses"][0]["has_elevator"]
    assert page.errors == []


def test_a_complaint_ticket_from_the_card(console: Any) -> None:
    with agent_api(console) as api:
        customer = a_customer_with_a_usual_order(api)
    page = console.page_as("agent")
    page.fill("#ag-search-phone", customer["phones"][0])
    page.keyboard.press("Enter")
    page.locator("#ag-complaint").wait_for(state="visible")
    page.select_option("#complaint-reason", "水质问题")
    page.fill("#complaint-note", "水有异味")
    page.click("#complaint-submit")
    page.locator("#ag-customer-complaints li", has_text="水质问题").first.wait_for()
    with agent_api(console) as api:
        complaints = api.get(f"/api/customers/{customer['id']}/complaints").json()
        assert complaints[0]["reason"] == "水质问题" and complaints[0]["note"] == "水有异味"
        assert complaints[0]["caller"] == customer["phones"][0]
    assert page.errors == []
