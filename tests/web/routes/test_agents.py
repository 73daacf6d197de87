"""/api/agents: the list, an agent's own state, the state log and contacts, with roles."""

from __future__ import annotations

from datetime import timedelta

from .conftest import Shop


def _states(shop: Shop) -> dict[str, tuple[str, str]]:
    listed = shop.get("/api/agents", as_user="agent")
    assert listed.status_code == 200, listed.text
    return {a["username"]: (a["state"], a["reason"]) for a in listed.json()}


def test_agent_logs_in_pauses_and_logs_out(shop: Shop) -> None:
    assert _states(shop) == {"agent": ("logged_out", "")}
    login = shop.post("/api/agents/me/state", {"state": "available"}, as_user="agent")
    assert login.status_code == 200, login.text
    assert (login.json()["from_state"], login.json()["to_state"]) == ("logged_out", "available")
    assert login.json()["by"] == "api:agent"
    shop.clock.advance(30)
    paused = shop.post("/api/agents/me/state", {"state": "paused", "reason": "用餐"}, as_user="agent")
    assert paused.status_code == 200
    assert _states(shop) == {"agent": ("paused", "用餐")}
    listed = shop.get("/api/agents", as_user="dispatcher").json()
    assert listed[0]["since"].startswith((shop.clock.current).strftime("%Y-%m-%dT%H:%M"))
    shop.clock.advance(30)
    assert shop.post("/api/agents/me/state", {"state": "logged_out"}, as_user="agent").status_code == 200
    agent_id = shop.users["agent"]
    log = shop.get(f"/api/agents/{agent_id}/states", as_user="dispatcher").json()
    assert [(c["from_state"], c["to_state"], c["reason"]) for c in log] == [
        ("paused", "logged_out", ""), ("available", "paused", "用餐"), ("logged_out", "available", "")
    ]
    own = shop.get(f"/api/agents/{agent_id}/states", as_user="agent")
    assert own.status_code == 200 and len(own.json()) == 3
    start = (shop.clock.current - timedelta(minutes=45)).isoformat()
    recent = shop.get(f"/api/agents/{agent_id}/states", as_user="manager", **{"from": start}).json()
    assert [c["to_state"] for c in recent] == ["logged_out", "paused"]


def test_bad_states_get_bilingual_errors(shop: Shop) -> None:
    wrong = shop.post("/api/agents/me/state", {"state": "on_call"}, as_user="agent")
    assert wrong.status_code == 422
    assert wrong.json()["error"] == "agent.bad_state" and "坐席状态" in wrong.json()["message_zh"]
    no_reason = shop.post("/api/agents/me/state", {"state": "paused", "reason": " "}, as_user="agent")
    assert no_reason.status_code == 422 and no_reason.json()["error"] == "agent.pause_reason_required"
    twice = shop.post("/api/agents/me/state", {"state": "logged_out"}, as_user="agent")
    assert twice.status_code == 409 and twice.json()["error"] == "agent.illegal_transition"


def test_roles(shop: Shop) -> None:
    # a dispatcher inherits the permission but has no agent state
    not_agent = shop.post("/api/agents/me/state", {"state": "available"}, as_user="dispatcher")
    assert not_agent.status_code == 403 and not_agent.json()["error"] == "agent.not_agent"
    assert shop.get("/api/agents", as_user="courier").status_code == 403
    assert shop.post("/api/agents/me/state", {"state": "available"}, as_user="courier").status_code == 403
    other = shop.users["dispatcher"]
    assert shop.get(f"/api/agents/{other}/states", as_user="agent").status_code == 403
    assert shop.get(f"/api/agents/{other}/states", as_user="manager").status_code == 404  # no agent


def test_contacts(shop: Shop) -> None:
    agent_id = shop.users["agent"]
    url = f"/api/agents/{agent_id}/contacts"
    phone = shop.post(url, {"kind": "sip", "address": "agent"}, as_user="manager")
    assert phone.status_code == 201, phone.text
    mobile = shop.post(url, {"kind": "mobile", "address": "139-9111-0009", "priority": 1}, as_user="manager")
    assert mobile.status_code == 201 and mobile.json()["address"] == "13991110009"
    assert shop.post(url, {"kind": "mobile", "address": "13991110009"}, as_user="manager").status_code == 409
    assert shop.post(url, {"kind": "mobile", "address": "12"}, as_user="manager").status_code == 422
    assert shop.post(url, {"kind": "sip", "address": "Bad Name"}, as_user="manager").status_code == 422
    assert shop.post(url, {"kind": "sip", "address": "x2"}, as_user="dispatcher").status_code == 403
    listed = shop.get(url, as_user="agent").json()
    assert [(c["kind"], c["address"]) for c in listed] == [("sip", "agent"), ("mobile", "13991110009")]
    gone = shop.client.delete(f"/api/agents/contacts/{phone.json()['id']}", headers=shop.auth("manager"))
    assert gone.status_code == 204
    again = shop.client.delete(f"/api/agents/contacts/{phone.json()['id']}", headers=shop.auth("manager"))
    assert again.status_code == 404
    assert [c["kind"] for c in shop.get(url, as_user="dispatcher").json()] == ["mobile"]
