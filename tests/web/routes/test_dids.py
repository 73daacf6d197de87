"""/api/dids: route 400 numbers to published flows."""

from __future__ import annotations

from .conftest import Shop

SMALL = "name: small\nstart: bye\nnodes:\n  bye: {kind: hangup}\n"


def test_route_list_and_remove(shop: Shop) -> None:
    headers = shop.auth("owner")
    draft = shop.post("/api/flows/small/versions", {"text": SMALL})
    assert draft.status_code == 201
    unpublished = shop.client.put("/api/dids/400-636-0888", json={"flow": "small"}, headers=headers)
    assert unpublished.status_code == 409
    assert shop.post("/api/flows/small/publish", {"version": 1}).status_code == 200
    routed = shop.client.put("/api/dids/400-636-0888", json={"flow": "small"}, headers=headers)
    assert routed.status_code == 200 and routed.json()["did"] == "4006360888"
    assert shop.client.put("/api/dids/4006360888", json={"flow": "nope"}, headers=headers).status_code == 404
    assert shop.client.put("/api/dids/abc", json={"flow": "small"}, headers=headers).status_code == 422
    listed = shop.get("/api/dids", as_user="manager").json()
    assert [(d["did"], d["flow"]) for d in listed] == [("4006360888", "small")]
    assert shop.get("/api/flows/small").json()["dids"] == ["4006360888"]
    manager = shop.auth("manager")
    assert shop.client.delete("/api/dids/4006360888", headers=manager).status_code == 403
    assert shop.client.delete("/api/dids/4006360888", headers=headers).status_code == 204
    assert shop.client.delete("/api/dids/4006360888", headers=headers).status_code == 404
    assert shop.get("/api/dids").json() == []
