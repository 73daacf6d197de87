"""POST /api/flows/{name}/check: the save check without saving, with the line of the error and the
diagram of whatever parses; readable by flow readers (manager), not by agents."""

from __future__ import annotations

from .conftest import Shop

FLOW = """\
name: small
start: menu
nodes:
  menu:
    kind: menu
    say: [{prompt: menu}]
    options: {"1": bye}
    on_failure: bye
  bye: {kind: hangup, say: [{text: 再见}]}
"""


def test_a_valid_flow_has_no_problem_and_a_diagram(shop: Shop) -> None:
    response = shop.post("/api/flows/small/check", {"text": FLOW}, as_user="manager")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["valid"] is True and body["problem"] is None and body["unreachable"] == []
    diagram = body["diagram"]
    assert [(n["id"], n["kind"], n["start"]) for n in diagram["nodes"]] == [
        ("menu", "menu", True), ("bye", "hangup", False)
    ]
    assert {(e["source"], e["label"], e["target"]) for e in diagram["edges"]} == {
        ("menu", "1", "bye"), ("menu", "failure", "bye")
    }
    assert diagram["width"] >= diagram["node_width"] and diagram["height"] > 2 * diagram["node_height"]
    assert shop.get("/api/flows/small").status_code == 404  # checking stores nothing


def test_a_dangling_reference_names_node_field_and_line(shop: Shop) -> None:
    broken = FLOW.replace('options: {"1": bye}', 'options: {"1": nowhere}')
    body = shop.post("/api/flows/small/check", {"text": broken}).json()
    assert body["valid"] is False and body["diagram"] is None
    problem = body["problem"]
    assert (problem["node"], problem["field"], problem["line"]) == ("menu", "options.1", 7)
    assert problem["error"] == "flow.invalid" and problem["message_zh"].startswith("流程无效")
    assert "nowhere" in problem["message_en"]


def test_an_unknown_prompt_is_a_problem_but_the_flow_is_still_drawn(shop: Shop) -> None:
    body = shop.post("/api/flows/small/check", {"text": FLOW.replace("prompt: menu", "prompt: nope")}).json()
    assert body["valid"] is False and body["diagram"] is not None
    problem = body["problem"]
    assert (problem["node"], problem["field"], problem["line"]) == ("menu", "say.0", 6)


def test_yaml_syntax_and_name_mismatch(shop: Shop) -> None:
    unclosed = FLOW.replace("on_failure: bye", "on_failure: [bye")
    syntax = shop.post("/api/flows/small/check", {"text": unclosed})
    assert syntax.json()["valid"] is False and syntax.json()["problem"]["line"] in (8, 9)
    other = shop.post("/api/flows/other/check", {"text": FLOW}).json()
    assert other["problem"]["field"] == "name" and other["problem"]["line"] == 1
    assert shop.post("/api/flows/Bad Name/check", {"text": FLOW}).status_code == 422


def test_unreachable_nodes_are_listed(shop: Shop) -> None:
    draft = FLOW + "  draft: {kind: play, next: bye}\n"
    body = shop.post("/api/flows/small/check", {"text": draft}).json()
    assert body["valid"] is True and body["unreachable"] == ["draft"]
    assert [n["reachable"] for n in body["diagram"]["nodes"]] == [True, True, False]


def test_agents_may_not_check_flows(shop: Shop) -> None:
    assert shop.post("/api/flows/small/check", {"text": FLOW}, as_user="agent").status_code == 403
    assert shop.client.post("/api/flows/small/check", json={"text": FLOW}).status_code == 401
