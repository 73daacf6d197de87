"""Where in a flow's YAML text an error is: the line of the node and field :class:`FlowError` names.

The editor marks that line. The text is composed (YAML's node tree, which keeps positions) rather
than loaded, so nothing is constructed; the path ``nodes.<node>.<field>`` is followed as far as the
text has it, and the deepest element found is the answer (a missing field points at its node).
"""

from __future__ import annotations

import yaml

__all__ = ["error_line"]


def _key_text(key: yaml.Node) -> str | None:
    return str(key.value) if isinstance(key, yaml.ScalarNode) else None


def _child(node: yaml.Node, parts: list[str]) -> tuple[yaml.Node, yaml.Node, int] | None:
    """The element of ``node`` that the first part(s) of ``parts`` name: (key or item, value, parts
    used). A mapping key may itself contain dots (``customer.known``), so longer joins are tried first."""
    if isinstance(node, yaml.MappingNode):
        for used in range(len(parts), 0, -1):
            wanted = ".".join(parts[:used])
            for key, value in node.value:
                if _key_text(key) == wanted:
                    return key, value, used
        return None
    if isinstance(node, yaml.SequenceNode) and parts[0].isdigit():
        index = int(parts[0])
        if index < len(node.value):
            item = node.value[index]
            return item, item, 1
    return None


def error_line(text: str, node: str | None, field: str | None) -> int | None:
    """The 1-based line of ``nodes.<node>.<field>`` (or of ``field`` for a flow-level error) in
    ``text``; the YAML problem's own line for text that is no YAML; None when nothing matches."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        return None if mark is None else int(mark.line) + 1
    if root is None:
        return None
    parts: list[str] = []
    if node is not None:
        parts = ["nodes", node]
    if field is not None and field != "id":
        parts.extend(part for part in field.split(".") if part)
    line: int | None = None
    current = root
    while parts:
        found = _child(current, parts)
        if found is None:
            break
        key, current, used = found
        line = int(key.start_mark.line) + 1
        parts = parts[used:]
    return line
