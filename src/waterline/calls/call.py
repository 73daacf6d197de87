"""The flow interpreter: one :class:`FlowRun` per call, sans-IO.

The run takes events (``waterline.calls.events``) plus ``now`` and returns actions
(``waterline.calls.actions``); timeouts are exposed through ``get_timer``/``handle_timer`` like the
SIP core's timers. It waits for at most one thing at a time: the end of a prompt, a digit (with a
deadline), a recording, a business request or a transfer. Every action it waits on carries a
token; an answer with any other token is stale and ignored.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum, StrEnum

from waterline.calls.actions import (
    Action,
    Answer,
    Hangup,
    Play,
    Prompt,
    PromptItem,
    Record,
    Request,
    Speech,
    StopPlayback,
    Transfer,
)
from waterline.calls.events import (
    CallerHungUp,
    DigitPressed,
    Event,
    PlaybackFinished,
    RecordingFinished,
    RequestAnswered,
    RequestFailed,
    TransferEnded,
)
from waterline.calls.flow import (
    BranchNode,
    ClockNode,
    CollectNode,
    ComplaintNode,
    Condition,
    Flow,
    HangupNode,
    IdentifyNode,
    MenuNode,
    Node,
    OrderStatusNode,
    PlayNode,
    QueueNode,
    ReorderNode,
    SayItem,
    SetNode,
    SurveyNode,
    TransferNode,
    VoicemailNode,
)

__all__ = ["MAX_STEPS_WITHOUT_INPUT", "FlowRun", "Outcome", "PathStep", "render"]

MAX_STEPS_WITHOUT_INPUT = 100
"""Nodes a run may pass without hearing from the caller (a digit, the end of a prompt, a timeout)
before it is taken for a loop in the flow and failed."""

_TEMPLATE = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_.]*)\}")


class Outcome(StrEnum):
    """How a call ended, as the CDR records it."""

    IVR_COMPLETED = "ivr-completed"
    ORDER_PLACED = "order-placed"
    VOICEMAIL = "voicemail"
    TRANSFERRED = "transferred"
    ABANDONED = "abandoned"
    BLOCKED = "blocked"
    FAILED = "failed"


# When a call reaches several results, the CDR keeps the one that matters most to the business.
_RANK = {Outcome.ORDER_PLACED: 3, Outcome.VOICEMAIL: 2, Outcome.TRANSFERRED: 1}


@dataclass(frozen=True, slots=True)
class PathStep:
    """One node the call passed: when it was entered, the digits it took, what happened there."""

    node: str
    kind: str
    at: float
    digits: str = ""
    detail: str = ""


class _Wait(Enum):
    NOTHING = "nothing"
    PROMPT = "prompt"  # a Play of the current node
    INPUT = "input"  # digits, with a deadline
    RECORD = "record"
    REQUEST = "request"
    TRANSFER = "transfer"


def render(text: str, variables: Mapping[str, object]) -> str:
    """Substitute ``{name}`` by the variable's value (missing or ``None``: empty)."""

    def value(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        found = variables.get(match.group(1))
        if found is None:
            return ""
        if isinstance(found, float) and found.is_integer():
            return str(int(found))
        return str(found)

    return _TEMPLATE.sub(value, text)


def _holds(value: object, test: Condition) -> bool:
    if not isinstance(test, dict):
        return bool(value == test)
    for op, operand in test.items():
        if op == "set":
            ok = (value is not None and value != "") == bool(operand)
        elif op == "eq":
            ok = bool(value == operand)
        elif op == "ne":
            ok = bool(value != operand)
        elif op == "in":
            ok = value in operand
        elif op == "not_in":
            ok = value not in operand
        else:
            if not isinstance(value, int | float) or isinstance(value, bool):
                return False
            number = float(operand)
            ok = {"gt": value > number, "ge": value >= number, "lt": value < number, "le": value <= number}[
                op
            ]
        if not ok:
            return False
    return True


class FlowRun:
    """Runs ``flow`` for one call. See :mod:`waterline.calls` for the API contract."""

    def __init__(
        self, flow: Flow, *, caller: str, did: str, call_id: str, now: float, rng: random.Random
    ) -> None:
        self.flow = flow
        self.caller = caller
        self.did = did
        self.call_id = call_id
        self.started_at = now
        # Kept for flows that choose at random (A/B prompts); the interpreter itself is deterministic.
        self.rng = rng
        self.finished = False
        self.outcome: Outcome | None = None
        self.hangup_side: str | None = None
        self.hangup_cause: str | None = None
        self.path: list[PathStep] = []
        self.digits = ""
        """Every digit the caller pressed, in order (also those the flow ignored)."""
        self.order_id: int | None = None
        self.recording_ids: list[int] = []
        self.ticket_ids: list[int] = []
        self.task_ids: list[int] = []
        self.survey_score: int | None = None
        self.transfer_target: str | None = None
        self._vars: dict[str, object] = dict(flow.variables)
        self._vars.update({"call.caller": caller, "call.did": did, "call.id": call_id})
        self._node_id = flow.start
        self._wait = _Wait.NOTHING
        self._token = 0
        self._playing = False  # the current node's prompt is still playing
        self._deadline: float | None = None
        self._attempt = 0
        self._collected = ""
        self._pending: list[str] = []  # digits typed ahead during a barge-in prompt or a request
        self._steps = 0
        self._reached: Outcome | None = None
        self._started = False
        self._late: int | None = None  # token of the answer still awaited after the caller hung up

    # ------------------------------------------------------------------ public API

    @property
    def variables(self) -> Mapping[str, object]:
        """The flow's variables: ``call.*``, the flow's own and the results of requests."""
        return dict(self._vars)

    @property
    def wrapping_up(self) -> bool:
        """The caller hung up while a business request or a voicemail recording was in flight and
        its answer has not arrived yet: feed it (it may return a ``missed_call`` request), and write
        the call record once this is false."""
        return self._late is not None

    @property
    def node(self) -> str:
        """The id of the node the run is at."""
        return self._node_id

    def start(self, now: float) -> list[Action]:
        """Answer (unless the flow says not to) and run the start node."""
        if self._started or self.finished:
            return []
        self._started = True
        out: list[Action] = [Answer()] if self.flow.answer else []
        self._run(self.flow.start, now, out)
        return out

    def handle(self, event: Event, now: float) -> list[Action]:
        """Feed one event; returns the actions it causes."""
        if self.finished:
            return self._wrap_up(event)
        if not self._started:
            return []
        out: list[Action] = []
        if isinstance(event, CallerHungUp):
            self._caller_hung_up()
        elif isinstance(event, DigitPressed):
            self.digits += event.digit
            self._on_digit(event.digit, now, out)
        elif isinstance(event, PlaybackFinished):
            if self._wait is _Wait.PROMPT and event.token == self._token:
                self._steps = 0
                self._on_prompt_end(now, out)
        elif isinstance(event, RequestAnswered | RequestFailed):
            if self._wait is _Wait.REQUEST and event.token == self._token:
                self._on_request(event, now, out)
        elif isinstance(event, RecordingFinished):
            if self._wait is _Wait.RECORD and event.token == self._token:
                self._steps = 0
                self._on_recording(event, now, out)
        elif isinstance(event, TransferEnded):
            if self._wait is _Wait.TRANSFER and event.token == self._token:
                self._steps = 0
                if event.detail:
                    self._note(event.detail)
                self._on_transfer_end(event.ok, now, out)
        return out

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` must be called next (absolute, same clock as ``now``)."""
        return None if self.finished else self._deadline

    def handle_timer(self, now: float) -> list[Action]:
        """Run the timeout that is due (nothing if none is)."""
        if self.finished or self._deadline is None or now < self._deadline:
            return []
        self._deadline = None
        self._steps = 0
        out: list[Action] = []
        node = self._current()
        if isinstance(node, CollectNode) and self._collected:
            # silence after some digits ends the input, as the terminator would
            self._continue(self._collect_done(node, now, out), now, out)
        elif isinstance(node, MenuNode | CollectNode | SurveyNode):
            self._note("timeout")
            self._continue(self._retry(node, node.timeout_say, now, out), now, out)
        return out

    # ------------------------------------------------------------------ running nodes

    def _current(self) -> Node:
        return self.flow.nodes[self._node_id]

    def _next_token(self) -> int:
        self._token += 1
        return self._token

    def _note(self, detail: str, digits: str = "") -> None:
        last = self.path[-1]
        self.path[-1] = replace(
            last,
            digits=last.digits + digits,
            detail=f"{last.detail}; {detail}" if last.detail and detail else last.detail or detail,
        )

    def _continue(self, node_id: str | None, now: float, out: list[Action]) -> None:
        if node_id is not None and not self.finished:
            self._run(node_id, now, out)

    def _run(self, node_id: str, now: float, out: list[Action]) -> None:
        """Enter ``node_id`` and every node that follows without waiting."""
        next_id: str | None = node_id
        while next_id is not None and not self.finished:
            self._steps += 1
            if self._steps > MAX_STEPS_WITHOUT_INPUT:
                self._fail("loop", out, f"more than {MAX_STEPS_WITHOUT_INPUT} nodes without input")
                return
            self._node_id = next_id
            node = self.flow.nodes[next_id]
            self.path.append(PathStep(node=next_id, kind=node.kind, at=now))
            self._wait = _Wait.NOTHING
            self._deadline = None
            self._playing = False
            next_id = self._begin(node, now, out)

    def _begin(self, node: Node, now: float, out: list[Action]) -> str | None:
        """Start ``node``; returns the node to go on with at once, or ``None`` when it waits."""
        if isinstance(node, PlayNode):
            if node.barge_in and self._pending:
                self._note("skipped: digits typed ahead")
                return node.next
            if not node.barge_in:
                self._pending.clear()
            if not self._play(node.say, node.barge_in, out):
                return node.next
            return None
        if isinstance(node, MenuNode | CollectNode | SurveyNode):
            self._attempt = 0
            self._collected = ""
            while self._pending and node.barge_in:
                moved = self._input(node, self._pending.pop(0), now, out)
                if moved is not None:
                    return moved
                if self._wait is _Wait.PROMPT:
                    # typed ahead wrongly: the re-prompt starts afresh, without the rest
                    self._pending.clear()
                    return None
            if self._collected:
                self._deadline = now + node.inter_digit_timeout if isinstance(node, CollectNode) else None
                self._wait = _Wait.INPUT
                return None
            self._pending.clear()
            self._prompt(node, node.say, now, out)
            return None
        if isinstance(node, BranchNode):
            for index, case in enumerate(node.cases):
                if all(_holds(self._vars.get(name), test) for name, test in case.when.items()):
                    self._note(f"case {index}")
                    return case.next
            self._note("else")
            return node.else_
        if isinstance(node, SetNode):
            for name, value in node.values.items():
                self._vars[name] = render(value, self._vars) if isinstance(value, str) else value
            return node.next
        if isinstance(node, IdentifyNode):
            args: dict[str, object] = {"caller": self.caller, "did": self.did}
            if node.region is not None:
                args["region_city"] = render(node.region, self._vars)
            self._request("identify", args, out)
        elif isinstance(node, ReorderNode):
            self._request(
                "reorder", {"customer_id": self._vars.get(node.customer), "call_id": self.call_id}, out
            )
        elif isinstance(node, OrderStatusNode):
            self._request("order_status", {"customer_id": self._vars.get(node.customer)}, out)
        elif isinstance(node, ComplaintNode):
            args = {
                "reason": render(node.reason, self._vars),
                "customer_id": self._vars.get(node.customer),
                "call_id": self.call_id,
            }
            self._request("complaint", args, out)
        elif isinstance(node, ClockNode):
            self._request("clock", {"station_id": self._vars.get(node.station)}, out)
        elif isinstance(node, QueueNode | TransferNode | VoicemailNode | HangupNode):
            self._pending.clear()
            if not self._play(node.say, False, out):
                self._after_prompt(node, now, out)
        return None

    def _items(self, say: tuple[SayItem, ...]) -> tuple[PromptItem, ...]:
        items: list[PromptItem] = []
        for item in say:
            if item.prompt is not None:
                items.append(Prompt(item.prompt))
            elif item.text is not None:
                items.append(Speech(render(item.text, self._vars)))
        return tuple(items)

    def _play(self, say: tuple[SayItem, ...], barge_in: bool, out: list[Action]) -> bool:
        items = self._items(say)
        if not items:
            return False
        out.append(Play(self._next_token(), items, barge_in))
        self._wait = _Wait.PROMPT
        self._playing = True
        return True

    def _prompt(
        self,
        node: MenuNode | CollectNode | SurveyNode,
        say: tuple[SayItem, ...],
        now: float,
        out: list[Action],
    ) -> None:
        """Play a digit node's prompt; its timeout starts when the prompt ends."""
        if not self._play(say, node.barge_in, out):
            self._deadline = now + node.timeout
            self._wait = _Wait.INPUT

    def _request(self, kind: str, args: Mapping[str, object], out: list[Action]) -> None:
        out.append(Request(self._next_token(), kind, dict(args)))
        self._wait = _Wait.REQUEST

    def _after_prompt(
        self, node: QueueNode | TransferNode | VoicemailNode | HangupNode, now: float, out: list[Action]
    ) -> None:
        """The prompt of a node that acts afterwards has ended (or there was none): act."""
        self._playing = False
        if isinstance(node, HangupNode):
            outcome = (
                Outcome(node.outcome) if node.outcome is not None else self._reached or Outcome.IVR_COMPLETED
            )
            self._finish(outcome, "flow", node.cause, out)
        elif isinstance(node, VoicemailNode):
            out.append(Record(self._next_token(), node.max_seconds, node.silence_seconds, node.beep))
            self._wait = _Wait.RECORD
        else:
            target = render(node.fallback if isinstance(node, QueueNode) else node.target, self._vars)
            queue = node.queue if isinstance(node, QueueNode) else None
            if queue is not None:
                self._note(f"queue {queue} (fallback {target})")
            self.transfer_target = target
            out.append(Transfer(self._next_token(), target, queue))
            self._wait = _Wait.TRANSFER

    # ------------------------------------------------------------------ events

    def _on_prompt_end(self, now: float, out: list[Action]) -> None:
        node = self._current()
        self._playing = False
        if isinstance(node, PlayNode):
            self._wait = _Wait.NOTHING
            self._run(node.next, now, out)
        elif isinstance(node, MenuNode | CollectNode | SurveyNode):
            self._wait = _Wait.INPUT
            self._deadline = now + node.timeout
        elif isinstance(node, QueueNode | TransferNode | VoicemailNode | HangupNode):
            self._after_prompt(node, now, out)

    def _on_digit(self, digit: str, now: float, out: list[Action]) -> None:
        node = self._current()
        if self._wait is _Wait.REQUEST:
            self._pending.append(digit)
            return
        if isinstance(node, PlayNode) and self._wait is _Wait.PROMPT and node.barge_in:
            self._steps = 0
            out.append(StopPlayback())
            self._pending.append(digit)
            self._note("barge-in")
            self._wait = _Wait.NOTHING
            self._run(node.next, now, out)
            return
        if isinstance(node, MenuNode | CollectNode | SurveyNode):
            if self._wait is _Wait.INPUT or (self._wait is _Wait.PROMPT and node.barge_in):
                self._steps = 0
                self._continue(self._input(node, digit, now, out), now, out)

    def _input(
        self, node: MenuNode | CollectNode | SurveyNode, digit: str, now: float, out: list[Action]
    ) -> str | None:
        """A digit for a digit node; returns the node to go on with, if any."""
        if self._playing:
            out.append(StopPlayback())
            self._playing = False
        self._wait = _Wait.INPUT
        self._deadline = None
        if isinstance(node, MenuNode):
            target = node.options.get(digit)
            if target is not None:
                self._note("", digits=digit)
                return target
            self._note(f"invalid {digit}", digits=digit)
            return self._retry(node, node.invalid_say, now, out)
        if isinstance(node, SurveyNode):
            if digit.isdigit() and 1 <= int(digit) <= node.scale:
                self.survey_score = int(digit)
                self._vars[node.into] = self.survey_score
                self._note(f"score {digit}", digits=digit)
                return node.next
            self._note(f"invalid {digit}", digits=digit)
            return self._retry(node, node.invalid_say, now, out)
        self._note("", digits=digit)
        if digit == node.terminator:
            return self._collect_done(node, now, out)
        self._collected += digit
        if len(self._collected) >= node.max_digits:
            return self._collect_done(node, now, out)
        self._deadline = now + node.inter_digit_timeout
        return None

    def _collect_done(self, node: CollectNode, now: float, out: list[Action]) -> str | None:
        collected, self._collected = self._collected, ""
        if len(collected) < node.min_digits:
            self._note(f"too short: {collected!r}")
            return self._retry(node, node.invalid_say, now, out)
        self._vars[node.into] = collected
        return node.next

    def _retry(
        self,
        node: MenuNode | CollectNode | SurveyNode,
        say: tuple[SayItem, ...],
        now: float,
        out: list[Action],
    ) -> str | None:
        """An invalid input or a timeout: prompt again, or give up after the last attempt."""
        self._attempt += 1
        self._collected = ""
        if self._attempt >= node.attempts:
            self._note(f"failed after {node.attempts} attempts")
            return node.on_failure
        self._prompt(node, say + node.say, now, out)
        return None

    def _absorb(self, node: Node, event: RequestAnswered | RequestFailed) -> bool:
        """Record what the answer to ``node``'s request means for the call (variables, ids,
        outcome); returns whether the request succeeded."""
        if isinstance(event, RequestFailed):
            what = "missed-call task" if isinstance(node, VoicemailNode) else node.kind
            self._note(f"{what} failed: {event.reason}")
            return False
        if isinstance(node, VoicemailNode):
            task = event.result.get("task_id")
            if isinstance(task, int):
                self.task_ids.append(task)
                self._note(f"task {task}")
            return True
        if not isinstance(node, IdentifyNode | ReorderNode | OrderStatusNode | ComplaintNode | ClockNode):
            return True
        for key, value in event.result.items():
            self._vars[f"{node.into}.{key}"] = value
        if isinstance(node, IdentifyNode):
            self._vars[f"{node.into}.known"] = event.result.get("customer_id") is not None
        elif isinstance(node, ReorderNode):
            order = event.result.get("order_id")
            if isinstance(order, int):
                self.order_id = order
                self._reach(Outcome.ORDER_PLACED)
                self._note(f"order {order}")
        elif isinstance(node, ComplaintNode):
            ticket = event.result.get("ticket_id")
            if isinstance(ticket, int):
                self.ticket_ids.append(ticket)
                self._note(f"ticket {ticket}")
        return True

    def _on_request(self, event: RequestAnswered | RequestFailed, now: float, out: list[Action]) -> None:
        node = self._current()
        self._wait = _Wait.NOTHING
        ok = self._absorb(node, event)
        if isinstance(node, VoicemailNode):  # the missed-call task for the message: go on either way
            self._run(node.next, now, out)
        elif isinstance(node, IdentifyNode | ReorderNode | OrderStatusNode | ComplaintNode | ClockNode):
            if ok:
                self._run(node.next, now, out)
            elif node.on_error is None:
                self._fail("error", out, f"{node.kind} failed")
            else:
                self._run(node.on_error, now, out)

    def _message(self, event: RecordingFinished) -> Request | None:
        """Keep a finished voicemail message; the request for its missed-call task, if any."""
        if event.recording_id is None:
            self._note("no message recorded")
            return None
        self.recording_ids.append(event.recording_id)
        self._reach(Outcome.VOICEMAIL)
        self._note(f"message {event.recording_id} ({event.seconds:.1f} s)")
        args = {"recording_id": event.recording_id, "caller": self.caller, "call_id": self.call_id}
        self._wait = _Wait.REQUEST
        return Request(self._next_token(), "missed_call", args)

    def _on_recording(self, event: RecordingFinished, now: float, out: list[Action]) -> None:
        node = self._current()
        if not isinstance(node, VoicemailNode):
            return
        self._wait = _Wait.NOTHING
        request = self._message(event)
        if request is None:
            self._continue(node.on_error or node.next, now, out)
        else:
            out.append(request)

    def _wrap_up(self, event: Event) -> list[Action]:
        """After the caller hung up: take the answer to what the run was waiting for, so an order
        placed, a message left or a ticket opened at the last moment still reaches the record."""
        if self._late is None or not isinstance(event, RequestAnswered | RequestFailed | RecordingFinished):
            return []
        if event.token != self._late:
            return []
        self._late = None
        node = self._current()
        out: list[Action] = []
        if isinstance(event, RecordingFinished):
            if isinstance(node, VoicemailNode):
                request = self._message(event)
                if request is not None:
                    self._late = request.token
                    out.append(request)
        else:
            self._absorb(node, event)
        if self._reached is not None and _RANK.get(self._reached, 0) > _RANK.get(
            self.outcome or Outcome.ABANDONED, 0
        ):
            self.outcome = self._reached
        return out

    def _on_transfer_end(self, ok: bool, now: float, out: list[Action]) -> None:
        node = self._current()
        if not isinstance(node, QueueNode | TransferNode):
            return
        self._wait = _Wait.NOTHING
        if not ok:
            self._note("transfer failed")
            self.transfer_target = None
            self._run(node.on_failure, now, out)
            return
        self._reach(Outcome.TRANSFERRED)
        if node.next is None:
            self._finish(self._reached or Outcome.TRANSFERRED, "flow", "transferred", out)
        else:
            self._run(node.next, now, out)

    def _caller_hung_up(self) -> None:
        node = self._current()
        if isinstance(node, HangupNode):
            outcome = (
                Outcome(node.outcome) if node.outcome is not None else self._reached or Outcome.IVR_COMPLETED
            )
        elif self._wait is _Wait.TRANSFER:
            outcome = self._reached or Outcome.TRANSFERRED
        else:
            outcome = self._reached or Outcome.ABANDONED
        if self._wait is _Wait.REQUEST or self._wait is _Wait.RECORD:
            self._late = self._token
        self._note("caller hung up")
        self._finish(outcome, "caller", "caller hung up", None)

    # ------------------------------------------------------------------ ending

    def _final(self, node: HangupNode) -> Outcome:
        if node.outcome is not None:
            return Outcome(node.outcome)
        return self._reached or Outcome.IVR_COMPLETED

    def _reach(self, outcome: Outcome) -> None:
        if self._reached is None or _RANK.get(outcome, 0) > _RANK.get(self._reached, 0):
            self._reached = outcome

    def _fail(self, cause: str, out: list[Action], detail: str) -> None:
        self._note(detail)
        self._finish(Outcome.FAILED, "flow", cause, out)

    def _finish(self, outcome: Outcome, side: str, cause: str, out: list[Action] | None) -> None:
        if self._playing and out is not None:
            out.append(StopPlayback())
        self.finished = True
        self.outcome = outcome
        self.hangup_side = side
        self.hangup_cause = cause
        self._wait = _Wait.NOTHING
        self._deadline = None
        self._playing = False
        if out is not None:
            out.append(Hangup(cause))
