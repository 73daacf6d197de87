"""The audit log page in a real browser: a change made by an agent shows with his name."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def test_the_owner_sees_an_agents_change(console: Any) -> None:
    note = f"审计测试 {uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=console.url, timeout=30.0) as api:
        token = api.post("/api/auth/token", data={"username": "agent", "password": "agent123"}).json()
        api.headers["Authorization"] = f"Bearer {token['access_token']}"
        customer = api.get("/api/customers", params={"limit": 1}).json()[0]
        api.patch(f"/api/customers/{customer['id']}", json={"notes": note}).raise_for_status()
    page = console.page_as("owner")
    page.goto("/console/audit")
    page.select_option("#audit-resource", "customers")
    # entries are written within a second; search until it is there
    row = page.locator("#audit-rows tr", has_text=note)
    for _ in range(10):
        page.click("#audit-filter button[type=submit]")
        page.wait_for_load_state("networkidle")
        if row.count():
            break
        page.wait_for_timeout(500)
    assert row.count() == 1
    text = row.inner_text()
    assert "修改" in text and "客户" in text and f"customer_id={customer['id']}" in text
    console.screenshot(page, "audit-log")
    assert page.errors == []
