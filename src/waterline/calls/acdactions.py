"""Outputs of the ACD (:class:`waterline.calls.acd.Acd`): what the driver (the B2BUA) must do.

Prompts are named from the prompt library; the driver speaks numbers (position, minutes) itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from waterline.calls.queue import OverflowMobile, OverflowVoicemail

__all__ = [
    "AcceptCallback",
    "AcdAction",
    "Announce",
    "Bridge",
    "CancelLeg",
    "DialCustomer",
    "ExitQueue",
    "MusicOnHold",
    "OfferCallback",
    "PlayComfort",
    "RingAgent",
]


@dataclass(frozen=True, slots=True)
class RingAgent:
    """Ring ``contact`` of ``agent`` (a registered SIP contact or a mobile number) as leg ``leg`` for
    ``call_id``; the ACD cancels it after ``timeout`` s itself. ``callback`` is true when the agent is
    called first for a call-back (the customer is dialled once the agent answers)."""

    leg: str
    call_id: str
    agent: str
    contact: str
    timeout: float
    caller: str
    queue: str
    callback: bool = False


@dataclass(frozen=True, slots=True)
class DialCustomer:
    """Call-back: the agent is on the line (``agent_leg``); now call the customer ``number`` as
    ``leg`` (answer with ``LegAnswered``/``LegFailed``/``LegNoAnswer``)."""

    leg: str
    call_id: str
    number: str
    agent_leg: str
    timeout: float


@dataclass(frozen=True, slots=True)
class CancelLeg:
    """Cancel a ringing leg (CANCEL), or hang up one that answered too late (BYE)."""

    leg: str
    reason: str


@dataclass(frozen=True, slots=True)
class Bridge:
    """Connect the caller's leg (``call_id``; or ``customer_leg`` for a call-back) with ``agent_leg``."""

    call_id: str
    agent: str
    agent_leg: str
    customer_leg: str | None = None


@dataclass(frozen=True, slots=True)
class MusicOnHold:
    """Play ``prompt`` to the waiting caller in a loop until another queue action or the bridge."""

    call_id: str
    prompt: str


@dataclass(frozen=True, slots=True)
class Announce:
    """Tell the waiting caller the position and/or estimated wait (seconds), then back to music.
    ``None`` means do not say that part (turned off, or no recent waits to estimate from)."""

    call_id: str
    position: int | None
    estimated_wait: float | None


@dataclass(frozen=True, slots=True)
class PlayComfort:
    """Play the queue's comfort prompt, then back to music."""

    call_id: str
    prompt: str


@dataclass(frozen=True, slots=True)
class OfferCallback:
    """Tell the caller they may press 1 to be called back and keep their place."""

    call_id: str


@dataclass(frozen=True, slots=True)
class AcceptCallback:
    """The caller pressed 1: confirm ("we will call you back") and hang up the caller's leg; the
    place is kept and the ACD calls back later."""

    call_id: str


@dataclass(frozen=True, slots=True)
class ExitQueue:
    """The caller leaves the ACD without an agent, for ``reason`` (``timeout``, ``full``, ``joinempty``,
    ``leaveempty``): to voicemail, to a mobile, or (``target`` None) hang up."""

    call_id: str
    reason: str
    target: OverflowVoicemail | OverflowMobile | None


AcdAction = (
    RingAgent
    | DialCustomer
    | CancelLeg
    | Bridge
    | MusicOnHold
    | Announce
    | PlayComfort
    | OfferCallback
    | AcceptCallback
    | ExitQueue
)
"""Everything ``Acd.handle``/``handle_timer`` return."""
