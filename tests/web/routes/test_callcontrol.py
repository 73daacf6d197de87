"""Wrap-up dispositions through the API, and the call commands without a live channel (the live
commands with an engine are in test_live.py)."""

from __future__ import annotations

from .conftest import Shop


def test_an_agent_records_and_corrects_a_disposition(shop: Shop) -> None:
    first = shop.post("/api/calls/call-1/disposition", {"code": "inquiry", "notes": " 问价格 "},
                      as_user="agent")
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["call_id"], body["code"], body["label_zh"]) == ("call-1", "inquiry", "咨询")
    assert body["notes"] == "问价格"
    assert body["agent_id"] == shop.users["agent"]
    shop.clock.advance(1)
    again = shop.post("/api/calls/call-1/disposition", {"code": "order", "notes": "两桶"}, as_user="agent")
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    listed = shop.get("/api/calls/call-1/dispositions", as_user="agent").json()
    assert [(d["code"], d["notes"]) for d in listed] == [("order", "两桶")]


def test_supervisors_see_everyone_agents_only_themselves(shop: Shop) -> None:
    assert shop.post("/api/calls/c9/disposition", {"code": "complaint"}, as_user="agent").status_code == 200
    assert shop.post("/api/calls/c9/disposition", {"code": "other"}, as_user="dispatcher").status_code == 200
    assert {d["code"] for d in shop.get("/api/calls/c9/dispositions", as_user="manager").json()} == {
        "complaint", "other"}
    own = shop.get("/api/calls/c9/dispositions", as_user="agent").json()
    assert [d["code"] for d in own] == ["complaint"]
    assert shop.get("/api/calls/c9/dispositions", as_user="courier").status_code == 403


def test_bad_codes_and_long_notes_get_bilingual_422(shop: Shop) -> None:
    wrong = shop.post("/api/calls/c1/disposition", {"code": "sale"}, as_user="agent")
    assert wrong.status_code == 422 and wrong.json()["error"] == "disposition.bad_code"
    assert "通话小结" in wrong.json()["message_zh"] and "wrong_number" in wrong.json()["message_en"]
    long = shop.post("/api/calls/c1/disposition", {"code": "other", "notes": "字" * 2001}, as_user="agent")
    assert long.status_code == 422 and long.json()["error"] == "disposition.notes_too_long"


def test_my_dispositions_of_today(shop: Shop) -> None:
    shop.post("/api/calls/early/disposition", {"code": "order"}, as_user="agent")
    shop.clock.advance(120)
    later = shop.clock.current
    shop.post("/api/calls/late/disposition", {"code": "inquiry"}, as_user="agent")
    mine = shop.get("/api/agents/me/dispositions", as_user="agent").json()
    assert [d["call_id"] for d in mine] == ["late", "early"]
    recent = shop.get("/api/agents/me/dispositions", as_user="agent", **{"from": later.isoformat()}).json()
    assert [d["call_id"] for d in recent] == ["late"]
    assert shop.get("/api/agents/me/dispositions", as_user="dispatcher").json() == []


def test_call_commands_without_a_live_channel_are_503(shop: Shop) -> None:
    for path, body in (("hangup", None), ("transfer", {"agent": "agent"}), ("recording", {"on": True})):
        response = shop.post(f"/api/calls/c1/{path}", body, as_user="manager")
        assert response.status_code == 503, (path, response.text)
        assert response.json()["error"] == "live.unavailable" and "电话引擎" in response.json()["message_zh"]
