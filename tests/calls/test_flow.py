"""Flow YAML: schema validation with errors naming node and field, references, reachability."""

from __future__ import annotations

import pytest

from waterline.calls.flow import (
    BranchNode,
    Flow,
    FlowError,
    MenuNode,
    PlayNode,
    parse_flow,
    template_names,
)

GOOD = """
name: example
start: menu
nodes:
  menu:
    kind: menu
    say: [{prompt: menu}]
    options: {"1": thanks, "0": agent}
    invalid_say: [{text: 您的输入有误。}]
    on_failure: bye
  thanks: {kind: play, say: [{text: "谢谢，{call.caller}"}], next: bye}
  agent: {kind: transfer, target: "13800000000", on_failure: bye}
  bye: {kind: hangup, say: [{prompt: goodbye}]}
"""


def _error(text: str, **kwargs: object) -> FlowError:
    with pytest.raises(FlowError) as caught:
        parse_flow(text, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_a_valid_flow_parses_into_typed_nodes() -> None:
    flow = parse_flow(GOOD)
    assert isinstance(flow, Flow)
    assert flow.name == "example" and flow.start == "menu" and flow.answer and flow.record
    menu = flow.nodes["menu"]
    assert isinstance(menu, MenuNode)
    assert menu.options == {"1": "thanks", "0": "agent"}
    assert menu.timeout == 5.0 and menu.attempts == 3 and menu.barge_in
    assert isinstance(flow.nodes["thanks"], PlayNode)
    assert flow.node_ids() == ("menu", "thanks", "agent", "bye")
    assert flow.unreachable == ()
    assert flow.prompt_names() == {"menu", "goodbye"}


def test_a_dangling_reference_names_node_and_field() -> None:
    error = _error(GOOD.replace('"0": agent', '"0": nobody'))
    assert (error.node, error.field) == ("menu", "options.0")
    assert "node 'menu', field 'options.0'" in str(error) and "'nobody'" in str(error)
    error = _error(GOOD.replace("on_failure: bye\n  thanks", "on_failure: gone\n  thanks"))
    assert (error.node, error.field) == ("menu", "on_failure")
    assert _error(GOOD.replace("start: menu", "start: nowhere")).field == "start"


def test_branch_references_are_checked_too() -> None:
    text = GOOD + "  route: {kind: branch, cases: [{when: {a: 1}, next: bye}], else: gone}\n"
    error = _error(text)
    assert (error.node, error.field) == ("route", "else")
    text = GOOD + "  route: {kind: branch, cases: [{when: {a: 1}, next: gone}], else: bye}\n"
    assert _error(text).field == "cases.0.next"


def test_unreachable_nodes_are_reported_not_refused() -> None:
    flow = parse_flow(GOOD + "  draft: {kind: play, say: [{prompt: menu}], next: bye}\n")
    assert flow.unreachable == ("draft",)


def test_schema_errors_name_node_and_field() -> None:
    assert _error(GOOD.replace("kind: transfer", "kind: xfer")).field == "kind"
    error = _error(GOOD.replace('"1": thanks', '"x": thanks'))
    assert (error.node, error.field) == ("menu", "options") and "keypad" in str(error)
    error = _error(GOOD.replace("say: [{prompt: menu}]", "say: [{prompt: menu, text: 菜单}]"))
    assert (error.node, error.field) == ("menu", "say.0")
    error = _error(GOOD.replace("on_failure: bye\n  thanks", "timeout: -1\n    on_failure: bye\n  thanks"))
    assert (error.node, error.field) == ("menu", "timeout")
    error = _error(GOOD.replace("kind: hangup,", "kind: hangup, colour: red,"))
    assert (error.node, error.field) == ("bye", "colour")
    error = _error(GOOD.replace('target: "13800000000", ', ""))
    assert (error.node, error.field) == ("agent", "target")


def test_a_node_without_kind_or_a_bad_id_is_refused() -> None:
    error = _error(GOOD.replace("kind: hangup, ", ""))
    assert (error.node, error.field) == ("bye", "kind")
    error = _error(GOOD.replace("  bye: {", "  bad id: {").replace("bye", "bad id"))
    assert error.node == "bad id" and error.field == "id"


def test_invalid_yaml_says_where() -> None:
    error = _error("name: x\nnodes: [\n")
    assert "not valid YAML" in str(error) and "line" in str(error)
    assert "mapping" in str(_error("- just a list"))


def test_templates_need_balanced_braces() -> None:
    error = _error(GOOD.replace('target: "13800000000"', 'target: "{agent"'))
    assert (error.node, error.field) == ("agent", "target")
    assert template_names("订单{order.number}，{{字面}}，{eta}") == ["order.number", "eta"]


def test_collect_lengths_and_branch_operators_are_checked() -> None:
    collect = "  pin: {kind: collect, into: pin, min_digits: 4, max_digits: 2, next: bye, on_failure: bye}\n"
    assert _error(GOOD + collect).node == "pin"
    branch = "  route: {kind: branch, cases: [{when: {a: {like: 1}}, next: bye}], else: bye}\n"
    error = _error(GOOD + branch)
    assert error.node == "route" and "like" in str(error)
    branch = "  route: {kind: branch, cases: [{when: {a: {in: 1}}, next: bye}], else: bye}\n"
    assert "list" in str(_error(GOOD + branch))
    ok = "  route: {kind: branch, cases: [{when: {a: {in: [1, 2]}, b: {set: true}}, next: bye}], else: bye}\n"
    route = parse_flow(GOOD + ok).nodes["route"]
    assert isinstance(route, BranchNode) and route.else_ == "bye"


def test_prompts_missing_from_the_library_are_refused_when_the_library_is_given() -> None:
    parse_flow(GOOD)  # no library given: names are not checked
    error = _error(GOOD, prompts={"menu"})
    assert (error.node, error.field) == ("bye", "say.0") and "'goodbye'" in str(error)
    parse_flow(GOOD, prompts={"menu", "goodbye"})


def test_a_flow_is_immutable() -> None:
    flow = parse_flow(GOOD)
    with pytest.raises(ValueError):
        flow.start = "bye"


def test_yaml_1_1_booleans_and_unquoted_digits_read_as_authors_mean() -> None:
    text = """
name: yes-no
start: ask
nodes:
  ask: {kind: menu, options: {1: yes, 0: no}, on_failure: no}
  yes: {kind: hangup, cause: on}
  no: {kind: hangup, cause: off, outcome: blocked}
"""
    flow = parse_flow(text)
    menu = flow.nodes["ask"]
    assert isinstance(menu, MenuNode) and menu.options == {"1": "yes", "0": "no"}
    assert set(flow.nodes) == {"ask", "yes", "no"}
    values = parse_flow(GOOD + "  x: {kind: set, values: {a: true, b: no, c: 1}, next: bye}\n").nodes["x"]
    assert values.model_dump()["values"] == {"a": True, "b": "no", "c": 1}
