"""error_line: the line of the node and field a flow error names, in the text the editor shows."""

from __future__ import annotations

import pytest

from waterline.calls.flow import FlowError, parse_flow
from waterline.calls.flowsource import error_line

TEXT = """\
name: demo
start: menu
nodes:
  menu:
    kind: menu
    say: [{prompt: menu}]
    options:
      "1": order
      "2": nowhere
    on_failure: bye
  order:
    kind: branch
    cases:
      - when: {customer.known: true}
        next: bye
    else: bye
  bye: {kind: hangup}
"""


@pytest.mark.parametrize(
    ("node", "field", "line"),
    [
        ("menu", "options.2", 9),
        ("menu", "options", 7),
        ("menu", "say.0", 6),
        ("menu", "on_failure", 10),
        ("menu", None, 4),
        ("menu", "id", 4),
        ("menu", "timeout", 4),  # not written: the node's line
        ("order", "cases.0.next", 15),
        ("order", "cases.0.when.customer.known", 14),  # a key with a dot in it
        ("order", "else", 16),
        ("bye", "kind", 17),
        (None, "start", 2),
        (None, None, None),
        ("missing", "next", 3),  # no such node: as far as the path goes
    ],
)
def test_lines_of_nodes_and_fields(node: str | None, field: str | None, line: int | None) -> None:
    assert error_line(TEXT, node, field) == line


def test_the_parsers_own_error_points_at_the_bad_line() -> None:
    with pytest.raises(FlowError) as caught:
        parse_flow(TEXT)
    assert (caught.value.node, caught.value.field) == ("menu", "options.2")
    assert error_line(TEXT, caught.value.node, caught.value.field) == 9


def test_text_that_is_no_yaml_gives_the_yaml_problem_line() -> None:
    broken = TEXT.replace('      "2": nowhere', '      "2": [nowhere')
    assert error_line(broken, None, None) in (9, 10)
    assert error_line("", None, "start") is None
    assert error_line("- a list\n- of things\n", None, "start") is None
