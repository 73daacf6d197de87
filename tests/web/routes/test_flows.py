"""/api/flows: versions, validation errors naming node and field (400, bilingual), publish, roles."""

from __future__ import annotations

from .conftest import Shop

SMALL = """
name: small
start: bye
nodes:
  bye: {kind: hangup, say: [{text: 再见}]}
"""


def test_create_publish_and_read_versions(shop: Shop) -> None:
    first = shop.post("/api/flows/small/versions", {"text": SMALL, "publish": True})
    assert first.status_code == 201, first.text
    assert first.json()["version"] == 1 and first.json()["current"] is True
    assert first.json()["author"] == "owner"
    second = shop.post("/api/flows/small/versions", {"text": SMALL.replace("再见", "拜拜")})
    assert second.status_code == 201 and second.json()["version"] == 2 and second.json()["current"] is False
    flow = shop.get("/api/flows/small", as_user="manager").json()
    assert (flow["current_version"], flow["latest_version"]) == (1, 2)
    versions = shop.get("/api/flows/small/versions", as_user="manager").json()
    assert [(v["version"], v["current"], v["text"]) for v in versions] == [(2, False, None), (1, True, None)]
    published = shop.post("/api/flows/small/publish", {"version": 2})
    assert published.status_code == 200 and published.json()["current_version"] == 2
    text = shop.get("/api/flows/small/versions/2", as_user="manager").json()["text"]
    assert "拜拜" in text
    assert [f["name"] for f in shop.get("/api/flows").json()] == ["small"]
    assert shop.get("/api/flows/small/versions/9").status_code == 404
    assert shop.post("/api/flows/small/publish", {"version": 9}).status_code == 404


def test_invalid_flow_is_a_400_naming_node_and_field(shop: Shop) -> None:
    broken = SMALL.replace("kind: hangup,", "kind: menu, options: {'1': nowhere},")
    response = shop.post("/api/flows/small/versions", {"text": broken})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "flow.invalid" and body["node"] == "bye"
    assert body["message_zh"].startswith("流程无效") and "bye" in body["message_en"]
    assert shop.get("/api/flows/small").status_code == 404  # nothing stored
    unknown_prompt = SMALL.replace("{text: 再见}", "{prompt: no_such_prompt}")
    refused = shop.post("/api/flows/small/versions", {"text": unknown_prompt})
    assert refused.status_code == 400 and "no_such_prompt" in refused.json()["message_en"]
    shipped_prompt = SMALL.replace("{text: 再见}", "{prompt: goodbye}")
    assert shop.post("/api/flows/small/versions", {"text": shipped_prompt}).status_code == 201
    bad_name = shop.post("/api/flows/Small Flow/versions", {"text": SMALL})
    assert bad_name.status_code == 422 and bad_name.json()["error"] == "flow.bad_name"


def test_only_flow_managers_edit_and_supervisors_read(shop: Shop) -> None:
    assert shop.post("/api/flows/small/versions", {"text": SMALL}, as_user="manager").status_code == 403
    assert shop.post("/api/flows/small/versions", {"text": SMALL}, as_user="agent").status_code == 403
    assert shop.get("/api/flows", as_user="manager").status_code == 200
    assert shop.get("/api/flows", as_user="agent").status_code == 403
    assert shop.client.get("/api/flows").status_code == 401
