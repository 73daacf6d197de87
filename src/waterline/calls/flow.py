"""Flows as data: the YAML schema of an IVR flow, its validation and reference check.

A flow is a mapping of node ids to nodes; each node has a ``kind`` and names the nodes that follow
it (``next``, ``options``, ``on_failure``…). :func:`parse_flow` validates the YAML against the
schema below and checks every reference, raising :class:`FlowError` with a message that names the
node and the field at fault. Nodes no path reaches are not an error (an editor may keep drafts) but
are listed in :attr:`Flow.unreachable`.

Example::

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

Text items are templates: ``{name}`` is replaced by the flow variable ``name`` when the node runs
(``{{`` and ``}}`` stand for literal braces).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "DIGITS",
    "BranchNode",
    "Case",
    "ClockNode",
    "CollectNode",
    "ComplaintNode",
    "Flow",
    "FlowError",
    "HangupNode",
    "IdentifyNode",
    "MenuNode",
    "Node",
    "OrderStatusNode",
    "PlayNode",
    "QueueNode",
    "ReorderNode",
    "SayItem",
    "SetNode",
    "SurveyNode",
    "TransferNode",
    "VoicemailNode",
    "parse_flow",
    "template_names",
]

DIGITS = frozenset("0123456789*#ABCD")
OUTCOMES = ("ivr-completed", "order-placed", "voicemail", "transferred", "abandoned", "blocked", "failed")
_TEMPLATE = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_.]*)\}")
_ID = r"^[A-Za-z][A-Za-z0-9_-]*$"


class FlowError(ValueError):
    """A flow that cannot run: invalid YAML, schema violation or dangling reference.

    ``node`` and ``field`` say where (either may be ``None`` for errors of the whole flow).
    """

    def __init__(self, message: str, *, node: str | None = None, field: str | None = None) -> None:
        where = []
        if node is not None:
            where.append(f"node '{node}'")
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.node = node
        self.field = field


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only ``true``/``false``. PyYAML's YAML 1.1 default also reads ``no``,
    ``yes``, ``on`` and ``off`` as booleans, which silently breaks a node called ``no``."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def template_names(text: str) -> list[str]:
    """The variable names a template refers to, in order."""
    return [m.group(1) for m in _TEMPLATE.finditer(text) if m.group(1)]


def _check_template(text: str) -> str:
    rest = _TEMPLATE.sub("", text)
    if "{" in rest or "}" in rest:
        raise ValueError(f"unbalanced brace in template {text!r} (write {{{{ or }}}} for a literal brace)")
    return text


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SayItem(_Model):
    """One item of a prompt: a library prompt by name, or TTS text (a template)."""

    prompt: str | None = None
    text: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SayItem:
        if (self.prompt is None) == (self.text is None):
            raise ValueError("give exactly one of 'prompt' (a prompt name) or 'text' (TTS text)")
        if self.text is not None:
            _check_template(self.text)
        return self


Say = tuple[SayItem, ...]


class _Node(_Model):
    def targets(self) -> Iterator[tuple[str, str]]:
        """``(field, node id)`` of every node this node may continue with."""
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name in ("next", "on_failure", "on_error", "else_") and isinstance(value, str):
                yield ("else" if name == "else_" else name), value


class PlayNode(_Node):
    """Play ``say``, then continue with ``next``. With ``barge_in`` a digit cuts the prompt short
    and is kept for the next node that reads digits (a menu after a greeting)."""

    say: Say = ()
    """What the node plays first (may be empty)."""

    kind: Literal["play"]
    next: str
    barge_in: bool = False


class _DigitsNode(_Node):
    """Shared settings of nodes that read digits after their prompt."""

    say: Say = ()
    """What the node plays first (may be empty)."""

    timeout: float = Field(5.0, gt=0, le=120)
    """Seconds to wait for the (first) digit once the prompt has finished."""
    attempts: int = Field(3, ge=1, le=10)
    """Tries in all; after the last invalid input or timeout the node continues with ``on_failure``."""
    invalid_say: Say = ()
    timeout_say: Say = ()
    barge_in: bool = True
    on_failure: str


class MenuNode(_DigitsNode):
    """Play ``say`` and wait for one digit; ``options`` maps each digit to the next node."""

    kind: Literal["menu"]
    options: dict[str, str]

    @field_validator("options", mode="before")
    @classmethod
    def _keys_as_text(cls, value: object) -> object:
        # an unquoted key (``1: order``) is an int in YAML; the keypad sends text
        if isinstance(value, dict):
            return {str(key): target for key, target in value.items()}
        return value

    @field_validator("options")
    @classmethod
    def _digits(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("a menu needs at least one option")
        for digit in value:
            if digit not in DIGITS:
                raise ValueError(f"option {digit!r} is not a key of the keypad (0-9, *, #)")
        return value

    def targets(self) -> Iterator[tuple[str, str]]:
        yield from super().targets()
        for digit, target in self.options.items():
            yield f"options.{digit}", target


class CollectNode(_DigitsNode):
    """Read ``min_digits``…``max_digits`` digits into the variable ``into``; input ends at
    ``terminator``, at ``max_digits``, or after ``inter_digit_timeout`` seconds of silence."""

    kind: Literal["collect"]
    into: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")
    min_digits: int = Field(1, ge=1, le=32)
    max_digits: int = Field(1, ge=1, le=32)
    terminator: str | None = "#"
    inter_digit_timeout: float = Field(3.0, gt=0, le=60)
    next: str

    @model_validator(mode="after")
    def _lengths(self) -> CollectNode:
        if self.min_digits > self.max_digits:
            raise ValueError("min_digits is larger than max_digits")
        if self.terminator is not None and self.terminator not in DIGITS:
            raise ValueError(f"terminator {self.terminator!r} is not a key of the keypad")
        return self


class SurveyNode(_DigitsNode):
    """Ask for a score from 1 to ``scale`` (default 5); the score becomes ``survey_score`` of the
    run and the variable ``into``."""

    kind: Literal["survey"]
    scale: int = Field(5, ge=2, le=9)
    into: str = "survey"
    next: str


Condition = Any
"""A variable test: a plain value (equality) or a mapping of operators (``eq``, ``ne``, ``in``,
``not_in``, ``set``, ``gt``, ``ge``, ``lt``, ``le``)."""
_OPERATORS = frozenset({"eq", "ne", "in", "not_in", "set", "gt", "ge", "lt", "le"})


class Case(_Model):
    """One case of a branch: ``when`` maps variable names to tests, all of which must hold."""

    when: dict[str, Condition]
    next: str

    @field_validator("when")
    @classmethod
    def _tests(cls, value: dict[str, Condition]) -> dict[str, Condition]:
        if not value:
            raise ValueError("a case needs at least one test")
        for name, test in value.items():
            if isinstance(test, dict):
                unknown = set(test) - _OPERATORS
                if unknown or not test:
                    raise ValueError(
                        f"test of {name!r}: unknown operator(s) {sorted(unknown)}; use {sorted(_OPERATORS)}"
                    )
                for op in ("in", "not_in"):
                    if op in test and not isinstance(test[op], list):
                        raise ValueError(f"test of {name!r}: '{op}' takes a list")
        return value


class BranchNode(_Node):
    """Continue with the first case whose tests all hold, else with ``else``.

    Tests read flow variables: known caller (``customer.known``), tier (``customer.tier``), region
    (``customer.region_city``), station open (``customer.station_open`` or ``clock.open``),
    holiday/workday (``clock.holiday``, ``clock.workday``) and, once the ACD lands, queue state.
    """

    kind: Literal["branch"]
    cases: tuple[Case, ...]
    else_: str = Field(alias="else")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def targets(self) -> Iterator[tuple[str, str]]:
        yield from super().targets()
        for index, case in enumerate(self.cases):
            yield f"cases.{index}.next", case.next


class _RequestNode(_Node):
    """A node that asks the business core (``actions.Request``); results go into variables
    ``<into>.<key>``. If the request fails the run continues with ``on_error`` (or fails)."""

    next: str
    on_error: str | None = None


class IdentifyNode(_RequestNode):
    """Identify the caller: customer, region, station, opening state and usual order.

    Besides the result keys it sets ``<into>.known`` (a customer was found)."""

    kind: Literal["identify"]
    into: str = "customer"
    region: str | None = None
    """A city the caller chose (a template, e.g. ``{region_choice}``) for a number whose region is
    unknown; sent as the request's ``region_city`` so the station is found for that city."""

    @field_validator("region")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        return None if value is None else _check_template(value)


class ReorderNode(_RequestNode):
    """Place the caller's usual order (``PlaceOrder`` channel ``ivr``)."""

    kind: Literal["reorder"]
    customer: str = "customer.customer_id"
    """The variable holding the customer id."""
    into: str = "order"


class OrderStatusNode(_RequestNode):
    """Look up the caller's open order: state and ETA."""

    kind: Literal["order_status"]
    customer: str = "customer.customer_id"
    into: str = "status"


class ComplaintNode(_RequestNode):
    """Open a complaint ticket linked to the call, with ``reason`` (a template)."""

    kind: Literal["complaint"]
    reason: str
    customer: str = "customer.customer_id"
    into: str = "complaint"

    @field_validator("reason")
    @classmethod
    def _template(cls, value: str) -> str:
        return _check_template(value)


class ClockNode(_RequestNode):
    """Ask whether the station (variable ``station``) is open now, and whether today is a
    holiday or a workday (调休 make-up days count as workdays)."""

    kind: Literal["clock"]
    station: str = "customer.station_id"
    into: str = "clock"


class QueueNode(_Node):
    """Hand the caller to the ACD queue ``queue``; an engine without that queue forwards to
    ``fallback`` (a template, e.g. the on-duty mobile). ``next`` runs after the agent leg ends (a
    survey); without it the call ends there. The queue's overflow to voicemail (or no one reached)
    takes ``on_failure``."""

    say: Say = ()
    """What the node plays first (may be empty)."""

    kind: Literal["queue"]
    queue: str = "default"
    fallback: str
    next: str | None = None
    on_failure: str

    @field_validator("fallback")
    @classmethod
    def _template(cls, value: str) -> str:
        return _check_template(value)


class TransferNode(_Node):
    """Connect the caller to ``target`` (an agent or an external number; a template)."""

    say: Say = ()
    """What the node plays first (may be empty)."""

    kind: Literal["transfer"]
    target: str
    next: str | None = None
    on_failure: str

    @field_validator("target")
    @classmethod
    def _template(cls, value: str) -> str:
        return _check_template(value)


class VoicemailNode(_Node):
    """Play ``say``, record a message (``max_seconds``, ends after ``silence_seconds`` of silence),
    then ask for a missed-call task for it and continue with ``next``."""

    say: Say = ()
    """What the node plays first (may be empty)."""

    kind: Literal["voicemail"]
    max_seconds: float = Field(60.0, gt=0, le=600)
    silence_seconds: float = Field(5.0, gt=0, le=60)
    beep: bool = True
    next: str
    on_error: str | None = None
    """Where to go when no message was recorded (default: ``next``)."""


class SetNode(_Node):
    """Set variables: each value is a template (strings) or a plain value."""

    kind: Literal["set"]
    values: dict[str, str | int | float | bool | None]
    next: str

    @field_validator("values")
    @classmethod
    def _templates(
        cls, value: dict[str, str | int | float | bool | None]
    ) -> dict[str, str | int | float | bool | None]:
        for item in value.values():
            if isinstance(item, str):
                _check_template(item)
        return value


_FlowOutcome = Literal["ivr-completed", "order-placed", "voicemail", "transferred", "blocked", "failed"]


class HangupNode(_Node):
    """Play ``say`` (if any) and hang up. ``outcome`` overrides the call's outcome (``blocked``
    for a barred caller); otherwise the outcome reached so far stands."""

    say: Say = ()
    """What the node plays first (may be empty)."""

    kind: Literal["hangup"]
    cause: str = "normal"
    outcome: (
        Literal["ivr-completed", "order-placed", "voicemail", "transferred", "blocked", "failed"] | None
    ) = None


Node = Annotated[
    PlayNode
    | MenuNode
    | CollectNode
    | BranchNode
    | IdentifyNode
    | ReorderNode
    | OrderStatusNode
    | ComplaintNode
    | ClockNode
    | QueueNode
    | TransferNode
    | VoicemailNode
    | SurveyNode
    | SetNode
    | HangupNode,
    Field(discriminator="kind"),
]


class Flow(_Model):
    """A validated flow. Immutable: a running call keeps the object it started with."""

    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    answer: bool = True
    """Answer the call before the first node (``False`` only for flows that reject)."""
    record: bool = True
    """Record the call (both directions, stereo); the benchmark's ``bench-play`` turns it off."""
    start: str
    variables: dict[str, str | int | float | bool | None] = {}
    """Initial variables (e.g. the company name read in prompts)."""
    nodes: dict[Annotated[str, Field(pattern=_ID)], Node]

    def node_ids(self) -> tuple[str, ...]:
        """Node ids in file order."""
        return tuple(self.nodes)

    @property
    def unreachable(self) -> tuple[str, ...]:
        """Nodes no path from ``start`` reaches, in file order."""
        seen = {self.start}
        todo = [self.start]
        while todo:
            node = self.nodes[todo.pop()]
            for _, target in node.targets():
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        return tuple(node_id for node_id in self.nodes if node_id not in seen)

    def prompt_names(self) -> set[str]:
        """Every library prompt the flow plays."""
        names: set[str] = set()
        for node in self.nodes.values():
            for field in ("say", "invalid_say", "timeout_say"):
                for item in getattr(node, field, ()):
                    if item.prompt is not None:
                        names.add(item.prompt)
        return names


def _located(error: Mapping[str, Any]) -> FlowError:
    loc = [str(part) for part in error["loc"]]
    message = str(error["msg"])
    if error["type"] == "union_tag_invalid" or error["type"] == "union_tag_not_found":
        return FlowError(message, node=loc[1] if len(loc) > 1 else None, field="kind")
    if len(loc) >= 2 and loc[0] == "nodes":
        node = loc[1]
        rest = loc[2:]
        # pydantic puts the discriminator value (the kind) into the location; it is not a field
        if rest and rest[0] in _KINDS:
            rest = rest[1:]
        if rest and rest[-1] == "[key]":
            return FlowError(f"invalid node id ({message})", node=node, field="id")
        field = ".".join("else" if part == "else_" else part for part in rest) or None
        return FlowError(message, node=node, field=field)
    return FlowError(message, field=".".join(loc) or None)


_KINDS = frozenset(
    {
        "play",
        "menu",
        "collect",
        "branch",
        "identify",
        "reorder",
        "order_status",
        "complaint",
        "clock",
        "queue",
        "transfer",
        "voicemail",
        "survey",
        "set",
        "hangup",
    }
)


def parse_flow(text: str, *, prompts: Collection[str] | None = None) -> Flow:
    """Parse and validate a flow's YAML.

    ``prompts``, when given, are the names of the prompt library: a flow playing any other prompt
    is refused. Raises :class:`FlowError` naming the node and field at fault.
    """
    try:
        data = yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader: no arbitrary objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise FlowError(f"not valid YAML{where}: {getattr(exc, 'problem', None) or exc}") from exc
    if not isinstance(data, dict):
        raise FlowError("a flow is a YAML mapping with 'name', 'start' and 'nodes'")
    nodes = data.get("nodes")
    if isinstance(nodes, dict):
        for node_id, node in nodes.items():
            if not isinstance(node, dict):
                raise FlowError("a node is a mapping with a 'kind'", node=str(node_id))
            if "kind" not in node:
                raise FlowError(f"missing; one of {sorted(_KINDS)}", node=str(node_id), field="kind")
    try:
        flow = Flow.model_validate(data)
    except ValidationError as exc:
        raise _located(exc.errors()[0]) from exc
    if flow.start not in flow.nodes:
        raise FlowError(f"no node {flow.start!r}", field="start")
    for node_id, node in flow.nodes.items():
        for field, target in node.targets():
            if target not in flow.nodes:
                raise FlowError(f"no node {target!r}", node=node_id, field=field)
    if prompts is not None:
        known = set(prompts)
        for node_id, node in flow.nodes.items():
            for field in ("say", "invalid_say", "timeout_say"):
                for index, item in enumerate(getattr(node, field, ())):
                    if item.prompt is not None and item.prompt not in known:
                        raise FlowError(
                            f"no prompt {item.prompt!r} in the prompt library",
                            node=node_id,
                            field=f"{field}.{index}",
                        )
    return flow
