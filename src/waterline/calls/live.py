"""Live events and console commands between the telephony engine and the web workers: types and wire.

The engine publishes what happens to calls, agents and queues (events); a web worker asks the engine
to act on a call (commands) and gets one reply per command. Both sides speak *frames*: one JSON object
per line, UTF-8, at most :data:`MAX_FRAME` bytes including the newline::

    {"type":"hello","version":1,"engine":"5f2c…","at":1764000000.1}          engine -> web, first frame
    {"type":"event","name":"call.offered","data":{"call_id":"…","agent":"kefu01",…}}
    {"type":"command","id":7,"name":"call.hangup","data":{"call_id":"…"}}      web -> engine
    {"type":"reply","id":7,"ok":true,"data":{}}                                engine -> web
    {"type":"reply","id":7,"ok":false,"code":"unknown_call","zh":"…","en":"…"}

Events (``data`` fields are the dataclass fields below; times are epoch seconds, waits seconds):

- ``call.queued`` (:class:`CallQueued`): a caller entered a queue (the web may prepare the card);
- ``call.offered`` (:class:`CallOffered`): an agent's phone is being rung for a call;
- ``call.answered`` (:class:`CallAnswered`): the agent answered; caller and agent are bridged;
- ``call.ended`` (:class:`CallEnded`): the call ended for that agent (or left the queue unanswered);
- ``agent.state`` (:class:`AgentStateChanged`): an agent's state changed (any cause);
- ``queue.stats`` (:class:`QueueStats`): a queue's waiting callers, longest wait, free agents.

Commands (:data:`COMMANDS`): ``call.hangup``, ``call.transfer`` (to an agent or a queue),
``call.record`` (pause/resume recording on demand), ``agent.state`` (a web worker stored an agent's own
state change; the engine's ACD follows it and the change is published to every worker).

Everything here is pure: the socket ends are ``telephony.eventport`` (engine) and
``adapters.livechannel`` (web).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Union

__all__ = [
    "COMMANDS",
    "EVENTS",
    "MAX_FRAME",
    "VERSION",
    "AgentStateChanged",
    "AgentStateNotice",
    "CallAnswered",
    "CallEnded",
    "CallOffered",
    "CallQueued",
    "Command",
    "CommandFrame",
    "EventFrame",
    "Frame",
    "Hangup",
    "Hello",
    "LiveEvent",
    "QueueStats",
    "RecordCall",
    "Reply",
    "TransferCall",
    "WireError",
    "decode_command",
    "decode_event",
    "decode_frame",
    "encode_frame",
    "event_data",
    "event_from_fields",
]

VERSION = 1
MAX_FRAME = 64 * 1024
"""Longest frame in bytes, newline included; a peer sending a longer one is disconnected."""


class WireError(ValueError):
    """A frame that is not valid JSON, not an object, too long, or whose fields have wrong types."""


# ---------------------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class CallQueued:
    """A caller entered ``queue``: who calls (``caller``), on which 400 number (``did``), the region the
    flow found, the IVR path (node ids in order) and every digit pressed."""

    NAME: ClassVar[str] = "call.queued"
    call_id: str
    queue: str
    caller: str
    did: str
    at: float
    region: str | None = None
    ivr_path: tuple[str, ...] = ()
    digits: str = ""


@dataclass(frozen=True, slots=True)
class CallOffered:
    """``agent`` (username) is being rung for ``call_id`` (leg ``leg``) after the caller waited
    ``waited`` seconds in ``queue``; the rest says who calls and how he got here (see CallQueued)."""

    NAME: ClassVar[str] = "call.offered"
    call_id: str
    agent: str
    queue: str
    caller: str
    did: str
    at: float
    waited: float = 0.0
    leg: str = ""
    region: str | None = None
    ivr_path: tuple[str, ...] = ()
    digits: str = ""


@dataclass(frozen=True, slots=True)
class CallAnswered:
    """``agent`` answered ``call_id`` after the caller waited ``waited`` seconds."""

    NAME: ClassVar[str] = "call.answered"
    call_id: str
    agent: str
    queue: str
    at: float
    waited: float = 0.0


@dataclass(frozen=True, slots=True)
class CallEnded:
    """``call_id`` ended for ``agent`` (empty when no agent had it). ``reason``: ``caller`` or ``agent``
    hung up, ``no-answer`` (the ring for this agent ended), ``abandon``, ``timeout``, ``transferred``…"""

    NAME: ClassVar[str] = "call.ended"
    call_id: str
    at: float
    reason: str
    agent: str = ""
    queue: str = ""


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    """``agent`` (username) moved from ``previous`` to ``state`` (the values of ``calls.queue.AgentState``)
    for ``reason``; ``call_id`` when a call caused it."""

    NAME: ClassVar[str] = "agent.state"
    agent: str
    state: str
    at: float
    previous: str = ""
    reason: str = ""
    call_id: str = ""


@dataclass(frozen=True, slots=True)
class QueueStats:
    """``queue`` now: callers waiting, how long the longest has waited, agents free to take a call."""

    NAME: ClassVar[str] = "queue.stats"
    queue: str
    at: float
    waiting: int
    longest_wait: float = 0.0
    available: int = 0


LiveEvent = CallQueued | CallOffered | CallAnswered | CallEnded | AgentStateChanged | QueueStats
EVENTS: Mapping[str, type[LiveEvent]] = {
    cls.NAME: cls for cls in (CallQueued, CallOffered, CallAnswered, CallEnded, AgentStateChanged, QueueStats)
}


# -------------------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class Hangup:
    """Hang up ``call_id`` (both legs when bridged)."""

    NAME: ClassVar[str] = "call.hangup"
    call_id: str
    by: str = ""


@dataclass(frozen=True, slots=True)
class TransferCall:
    """Blind transfer of ``call_id`` to ``agent`` (username) or to ``queue`` (name): exactly one."""

    NAME: ClassVar[str] = "call.transfer"
    call_id: str
    agent: str = ""
    queue: str = ""
    by: str = ""

    def __post_init__(self) -> None:
        if bool(self.agent) == bool(self.queue):
            raise WireError("call.transfer needs exactly one of agent and queue")


@dataclass(frozen=True, slots=True)
class RecordCall:
    """Start (``on``) or stop recording ``call_id`` on demand: the engine resumes or pauses the call's
    recording (silence while paused); a call whose flow records nothing is refused (``not_recorded``)."""

    NAME: ClassVar[str] = "call.record"
    call_id: str
    on: bool
    by: str = ""


@dataclass(frozen=True, slots=True)
class AgentStateNotice:
    """A web worker stored ``agent``'s own change to ``state`` (``available``, ``paused``,
    ``logged_out``) with ``reason``: the engine's ACD follows it."""

    NAME: ClassVar[str] = "agent.state"
    agent: str
    state: str
    at: float
    previous: str = ""
    reason: str = ""


Command = Hangup | TransferCall | RecordCall | AgentStateNotice
COMMANDS: Mapping[str, type[Command]] = {
    cls.NAME: cls for cls in (Hangup, TransferCall, RecordCall, AgentStateNotice)
}


# ---------------------------------------------------------------------------------------- frames


@dataclass(frozen=True, slots=True)
class Hello:
    """The engine's first frame on every connection: wire version and the engine instance (a new id
    after every restart)."""

    engine: str
    at: float
    version: int = VERSION


@dataclass(frozen=True, slots=True)
class EventFrame:
    """An event by name with its fields as sent (decode with :func:`decode_event`)."""

    name: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class CommandFrame:
    """Command ``id`` (unique per connection) by name with its fields (decode with :func:`decode_command`)."""

    id: int
    name: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to command ``id``: ``ok`` with ``data``, or an error ``code`` with a bilingual
    message for the console."""

    id: int
    ok: bool
    data: Mapping[str, Any] = field(default_factory=dict)
    code: str = ""
    zh: str = ""
    en: str = ""

    @classmethod
    def success(cls, command_id: int, data: Mapping[str, Any] | None = None) -> Reply:
        """A positive reply."""
        return cls(command_id, True, dict(data or {}))

    @classmethod
    def failure(cls, command_id: int, code: str, zh: str, en: str) -> Reply:
        """A refusal or error, with its code and message in Chinese and English."""
        return cls(command_id, False, {}, code, zh, en)


Frame = Hello | EventFrame | CommandFrame | Reply

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def event_data(item: LiveEvent | Command) -> dict[str, Any]:
    """The ``data`` object of an event or command (tuples become lists)."""
    return {f.name: _plain(getattr(item, f.name)) for f in dataclasses.fields(item)}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def encode_frame(frame: Frame | LiveEvent | Command, command_id: int | None = None) -> bytes:
    """One frame as bytes, newline-terminated. An event is sent as an event frame; a command needs
    ``command_id``. ``WireError`` when the result is longer than :data:`MAX_FRAME`."""
    obj: dict[str, Any]
    if isinstance(frame, Hello):
        obj = {"type": "hello", "version": frame.version, "engine": frame.engine, "at": frame.at}
    elif isinstance(frame, EventFrame):
        obj = {"type": "event", "name": frame.name, "data": dict(frame.data)}
    elif isinstance(frame, CommandFrame):
        obj = {"type": "command", "id": frame.id, "name": frame.name, "data": dict(frame.data)}
    elif isinstance(frame, Reply):
        obj = {"type": "reply", "id": frame.id, "ok": frame.ok}
        if frame.ok:
            obj["data"] = dict(frame.data)
        else:
            obj.update(code=frame.code, zh=frame.zh, en=frame.en)
    elif isinstance(frame, tuple(COMMANDS.values())):
        if command_id is None:
            raise WireError("a command frame needs an id")
        obj = {"type": "command", "id": command_id, "name": frame.NAME, "data": event_data(frame)}
    else:
        obj = {"type": "event", "name": frame.NAME, "data": event_data(frame)}
    data = (_encode(obj) + "\n").encode()
    if len(data) > MAX_FRAME:
        raise WireError(f"frame of {len(data)} bytes is longer than {MAX_FRAME}")
    return data


def decode_frame(line: bytes) -> Frame:
    """Parse one line (with or without its newline); ``WireError`` for anything malformed."""
    if len(line) > MAX_FRAME:
        raise WireError(f"frame of {len(line)} bytes is longer than {MAX_FRAME}")
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireError(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise WireError("a frame is a JSON object")
    kind = obj.get("type")
    if kind == "hello":
        return Hello(_get(obj, "engine", str), _number(obj, "at"), _get(obj, "version", int))
    if kind == "event":
        return EventFrame(_get(obj, "name", str), _get(obj, "data", dict))
    if kind == "command":
        return CommandFrame(_get(obj, "id", int), _get(obj, "name", str), _get(obj, "data", dict))
    if kind == "reply":
        command_id, ok = _get(obj, "id", int), _get(obj, "ok", bool)
        if ok:
            return Reply(command_id, True, _get(obj, "data", dict))
        code, zh, en = _get(obj, "code", str), _get(obj, "zh", str), _get(obj, "en", str)
        return Reply(command_id, False, {}, code, zh, en)
    raise WireError(f"unknown frame type {kind!r}")


def decode_event(frame: EventFrame) -> LiveEvent:
    """The typed event of ``frame``; ``WireError`` for an unknown name or bad fields."""
    cls = EVENTS.get(frame.name)
    if cls is None:
        raise WireError(f"unknown event {frame.name!r}")
    return _build(cls, frame.data)


ALIASES: Mapping[str, str] = {"wait": "waited", "path": "ivr_path", "by": "reason"}
"""Other names the engine's hooks use for event fields (``{"type": "call.ended", "by": "caller"}``)."""


def event_from_fields(fields: Mapping[str, Any]) -> LiveEvent:
    """The typed event of a flat mapping ``{"type": name, **fields}``, as an engine hook emits it:
    :data:`ALIASES` are renamed, fields the event does not have are dropped. ``WireError`` otherwise."""
    name = fields.get("type")
    cls = EVENTS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise WireError(f"unknown event {name!r}")
    known = {f.name for f in dataclasses.fields(cls)}
    data: dict[str, Any] = {}
    for key, value in fields.items():
        key = ALIASES.get(key, key) if key not in known else key
        if key in known and key not in data:
            data[key] = list(value) if isinstance(value, tuple) else value
    return _build(cls, data)


def decode_command(frame: CommandFrame) -> Command:
    """The typed command of ``frame``; ``WireError`` for an unknown name or bad fields."""
    cls = COMMANDS.get(frame.name)
    if cls is None:
        raise WireError(f"unknown command {frame.name!r}")
    return _build(cls, frame.data)


_T = typing.TypeVar("_T")


def _get(obj: Mapping[str, Any], key: str, kind: type[_T]) -> _T:
    value = obj.get(key)
    # bool is an int in Python; a JSON true must not pass as an id
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise WireError(f"field {key!r} must be {kind.__name__}")
    return value


def _number(obj: Mapping[str, Any], key: str) -> float:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WireError(f"field {key!r} must be a number")
    return float(value)


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _build(cls: type[_T], data: Mapping[str, Any]) -> _T:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise WireError(f"{cls.__name__}: field {f.name!r} is missing")
            continue
        values[f.name] = _convert(hints[f.name], data[f.name], f"{cls.__name__}.{f.name}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise WireError(str(exc)) from None


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        for option in typing.get_args(hint):
            try:
                return _convert(option, value, where)
            except WireError:
                continue
        raise WireError(f"{where}: unexpected {type(value).__name__}")
    if hint is type(None):
        if value is None:
            return None
        raise WireError(f"{where}: expected null")
    if origin is tuple:
        item = typing.get_args(hint)[0]
        if not isinstance(value, list):
            raise WireError(f"{where}: expected a list")
        return tuple(_convert(item, v, where) for v in value)
    if origin is Literal:
        if value in typing.get_args(hint):
            return value
        raise WireError(f"{where}: unexpected value {value!r}")
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise WireError(f"{where}: expected a number")
        return float(value)
    if hint in (str, int, bool):
        if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
            raise WireError(f"{where}: expected {hint.__name__}")
        return value
    raise WireError(f"{where}: unsupported field type {hint!r}")
