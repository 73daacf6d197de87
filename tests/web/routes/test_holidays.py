"""/api/holidays/overrides: read by station viewers, replaced by calendar managers."""

from __future__ import annotations

from .conftest import Shop


def test_put_replaces_and_get_reads(shop: Shop) -> None:
    body = [
        {"day": "2027-02-20", "is_workday": True, "note": "春节调休"},
        {"day": "2027-02-15", "is_workday": False},
    ]
    headers = shop.auth("manager")
    saved = shop.client.put("/api/holidays/overrides", json=body, headers=headers)
    assert saved.status_code == 200, saved.text
    days = [(o["day"], o["is_workday"]) for o in saved.json()]
    assert days == [("2027-02-15", False), ("2027-02-20", True)]
    read = shop.get("/api/holidays/overrides", as_user="agent").json()
    assert [o["note"] for o in read] == ["", "春节调休"]
    twice = [{"day": "2027-01-01", "is_workday": False}, {"day": "2027-01-01", "is_workday": True}]
    assert shop.client.put("/api/holidays/overrides", json=twice, headers=headers).status_code == 422
    agent = shop.auth("agent")
    assert shop.client.put("/api/holidays/overrides", json=[], headers=agent).status_code == 403
    assert shop.client.put("/api/holidays/overrides", json=[], headers=headers).json() == []
