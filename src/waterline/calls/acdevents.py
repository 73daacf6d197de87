"""Inputs to the ACD (:class:`waterline.calls.acd.Acd`), fed with ``Acd.handle(event, now)``.

Calls are named by the driver's ``call_id`` (the caller's leg); agent legs by the ``leg`` id the
ACD gave in ``RingAgent``/``DialCustomer``. An event about a call or leg the ACD no longer tracks
is ignored (a late answer), except that an answered leg nobody waits for is hung up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "AcdEvent",
    "AgentInUse",
    "AgentStateRequested",
    "CallCompleted",
    "CallEntered",
    "CallTransferred",
    "CallerHungUp",
    "CallerPressed",
    "LegAnswered",
    "LegFailed",
    "LegNoAnswer",
    "LegRinging",
]


@dataclass(frozen=True, slots=True)
class CallEntered:
    """A caller is handed to ``queue`` (the flow's ``queue`` node). ``caller`` is the number to call
    back."""

    call_id: str
    queue: str
    caller: str


@dataclass(frozen=True, slots=True)
class AgentStateRequested:
    """An agent (API, console or feature code ``*21``/``*22``/``*23``) asks to be ``available``,
    ``paused`` or ``logged_out``, with a reason (``meal``, ``training``...). While ringing, the ring
    is cancelled first; while on a call the change waits for the call's end; ``available`` during
    wrap-up ends the wrap-up early."""

    agent: str
    state: Literal["available", "paused", "logged_out"]
    reason: str = ""


@dataclass(frozen=True, slots=True)
class AgentInUse:
    """The agent's phone is (``True``) or no longer (``False``) busy on a call outside the ACD; such an
    agent is not rung unless the queue has ``ring_in_use``."""

    agent: str
    in_use: bool


@dataclass(frozen=True, slots=True)
class LegRinging:
    """The agent's (or call-back customer's) phone is ringing (180/183)."""

    leg: str


@dataclass(frozen=True, slots=True)
class LegAnswered:
    """The leg answered (200 OK)."""

    leg: str


@dataclass(frozen=True, slots=True)
class LegFailed:
    """The leg was refused or failed: ``status`` is the SIP final status (486 busy, 603, 480...)."""

    leg: str
    status: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class LegNoAnswer:
    """The far side gave up ringing before our timeout (408, or a mobile's network timeout)."""

    leg: str


@dataclass(frozen=True, slots=True)
class CallerHungUp:
    """The caller hung up: an abandon while waiting, a completion by the caller once connected."""

    call_id: str


@dataclass(frozen=True, slots=True)
class CallerPressed:
    """The waiting caller pressed a key (``1`` accepts a call-back once offered)."""

    call_id: str
    digit: str


@dataclass(frozen=True, slots=True)
class CallCompleted:
    """A connected call ended; ``by`` says who hung up first."""

    call_id: str
    by: Literal["caller", "agent"]


@dataclass(frozen=True, slots=True)
class CallTransferred:
    """The agent transferred the connected call to ``target`` (another agent or queue)."""

    call_id: str
    target: str


AcdEvent = (
    CallEntered
    | AgentStateRequested
    | AgentInUse
    | LegRinging
    | LegAnswered
    | LegFailed
    | LegNoAnswer
    | CallerHungUp
    | CallerPressed
    | CallCompleted
    | CallTransferred
)
"""Everything ``Acd.handle`` accepts."""
