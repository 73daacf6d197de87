"""Agents as the business sees them: their contacts, their state, and the log of every change.

An agent is a user of role ``agent``. The ACD engine (``calls.queue``) has its own ``AgentState``
with the same values; ``domain`` may import nothing but itself, so the persisted state is this
module's enum and the service layer converts by value (``tests/services/test_agents.py`` checks both
enums list the same values, so they cannot drift apart).

What an agent may ask for is one table (:data:`TRANSITIONS`): from the API or a feature code he
moves between logged out, available and paused (a pause from available or wrap-up only; logging out
from anywhere: a phone unplugged mid-call still ends the shift). Ringing, on call and wrap-up are
facts the call engine reports; they are stored as reported (see ``services.agents``), because the
engine, not this table, knows where a call is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from waterline.domain.errors import IllegalTransition, InvalidInput

__all__ = [
    "MAX_REASON_LENGTH",
    "TRANSITIONS",
    "AgentContact",
    "AgentState",
    "AgentStateChange",
    "AgentStatus",
    "ContactKind",
    "QueuePurpose",
    "check_transition",
]

MAX_REASON_LENGTH = 100


class AgentState(StrEnum):
    """Where an agent is; the values are those of the API, the store and the ACD engine."""

    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


class ContactKind(StrEnum):
    """How an agent is reached: a registered SIP phone (by SIP username) or a mobile via the trunk."""

    SIP = "sip"
    MOBILE = "mobile"


class QueuePurpose(StrEnum):
    """What a station's queue is for; one queue per station and purpose."""

    ORDERS = "orders"
    INQUIRIES = "inquiries"
    COMPLAINTS = "complaints"


_S = AgentState

# from -> the states an agent may ask for from there
TRANSITIONS: Mapping[AgentState, frozenset[AgentState]] = {
    _S.LOGGED_OUT: frozenset({_S.AVAILABLE}),
    _S.AVAILABLE: frozenset({_S.PAUSED, _S.LOGGED_OUT}),
    # ending wrap-up early is the agent's call; so is a pause right after a call
    _S.WRAP_UP: frozenset({_S.AVAILABLE, _S.PAUSED, _S.LOGGED_OUT}),
    # PAUSED -> PAUSED changes the reason (from "meal" to "training")
    _S.PAUSED: frozenset({_S.AVAILABLE, _S.PAUSED, _S.LOGGED_OUT}),
    _S.RINGING: frozenset({_S.LOGGED_OUT}),
    _S.ON_CALL: frozenset({_S.LOGGED_OUT}),
}
"""Changes an agent may ask for (API, feature codes)."""


def check_transition(current: AgentState, target: AgentState, reason: str) -> str:
    """The cleaned reason when an agent may ask for ``current -> target``; else ``IllegalTransition``.

    A pause needs a reason (meal, training, after-call work...): supervisors read it in the state
    log and reports count pause time by reason, so an unexplained pause is refused
    (``InvalidInput``). Other changes take an optional reason.
    """
    cleaned = reason.strip()
    if len(cleaned) > MAX_REASON_LENGTH:
        raise InvalidInput("invalid_input", detail=f"reason longer than {MAX_REASON_LENGTH} characters")
    if target is AgentState.PAUSED and not cleaned:
        raise InvalidInput("agent.pause_reason_required")
    if target not in TRANSITIONS[current]:
        raise IllegalTransition("agent.illegal_transition", from_state=current.value, to_state=target.value)
    return cleaned


@dataclass(frozen=True, slots=True)
class AgentContact:
    """One way to ring an agent; lower ``priority`` is tried first."""

    user_id: int
    kind: ContactKind
    address: str
    """The SIP username of a registered phone, or a canonical mobile number."""
    priority: int = 0
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AgentStatus:
    """An agent's current state, since when and why."""

    user_id: int
    username: str
    display_name: str
    state: AgentState
    since: datetime | None
    """None for an agent who never logged in."""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class AgentStateChange:
    """One line of the state log: who went from what to what, when, why and through what."""

    user_id: int
    at: datetime
    from_state: AgentState
    to_state: AgentState
    reason: str = ""
    by: str = ""
    """What made the change: ``api:<username>``, ``feature:*23``, ``acd:<queue>``..."""
    id: int | None = None
