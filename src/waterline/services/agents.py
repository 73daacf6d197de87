"""Service functions of agent states: the agent's own changes (API, phone feature codes) and the
changes the ACD engine reports, each validated by ``domain.agents.TRANSITIONS`` and logged.

Feature codes dialled from an agent's phone (the SIP switch hands them over with the B2BUA slice):

- ``*21`` log in (available); ``*22`` log out; ``*23`` pause toggle: available/wrap-up -> paused
  (reason ``feature-code``), paused -> available.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from waterline.calls import queue as acd
from waterline.calls.queuelog import AgentStateChange as AcdStateChange
from waterline.domain.agents import (
    MAX_REASON_LENGTH,
    AgentContact,
    AgentState,
    AgentStateChange,
    AgentStatus,
    ContactKind,
    check_transition,
)
from waterline.domain.errors import InvalidInput, NotFound, found
from waterline.domain.phones import normalise
from waterline.domain.users import USERNAME_PATTERN
from waterline.services.ports import UnitOfWork

__all__ = [
    "FEATURE_CODES",
    "add_contact",
    "SELF_SERVICE_STATES",
    "apply_acd_changes",
    "apply_feature_code",
    "change_state",
    "remove_contact",
    "set_own_state",
    "to_acd",
    "to_domain",
]

SELF_SERVICE_STATES = frozenset({AgentState.AVAILABLE, AgentState.PAUSED, AgentState.LOGGED_OUT})
"""What an agent may set himself; ringing, on call and wrap-up belong to the call engine."""

FEATURE_PAUSE_REASON = "feature-code"


@dataclass(frozen=True, slots=True)
class FeatureCode:
    """A code dialled from the agent's phone and what it does."""

    code: str
    name_zh: str
    name_en: str


FEATURE_CODES = (
    FeatureCode("*21", "签入（置为空闲）", "log in (available)"),
    FeatureCode("*22", "签出", "log out"),
    FeatureCode("*23", "暂停/恢复切换", "pause toggle"),
)


def to_acd(state: AgentState) -> acd.AgentState:
    """The ACD engine's state of the same value."""
    return acd.AgentState(state.value)


def to_domain(state: acd.AgentState) -> AgentState:
    """The stored state of the same value."""
    return AgentState(state.value)


def change_state(
    uow: UnitOfWork, agent: AgentStatus, target: AgentState, *, reason: str, by: str, now: datetime
) -> AgentStateChange:
    """Move ``agent`` (as loaded in this unit of work) to ``target`` at his request and log it; no commit.

    ``IllegalTransition`` / ``InvalidInput`` from the state table, ``Conflict`` when a concurrent
    change moved the agent first.
    """
    cleaned = check_transition(agent.state, target, reason)
    return uow.agents.change_state(
        AgentStateChange(agent.user_id, now, agent.state, target, reason=cleaned, by=by)
    )


def parse_self_state(text: str) -> AgentState:
    """The state an agent asks for by name; ``InvalidInput`` (bilingual) for anything else."""
    try:
        state = AgentState(text)
    except ValueError:
        raise InvalidInput("agent.bad_state", state=text) from None
    if state not in SELF_SERVICE_STATES:
        raise InvalidInput("agent.bad_state", state=text)
    return state


def set_own_state(
    uow: UnitOfWork, user_id: int, state: str, *, reason: str, by: str, now: datetime
) -> AgentStateChange:
    """An agent sets his own state (``available``, ``paused`` with a reason, ``logged_out``)."""
    target = parse_self_state(state)
    with uow:
        agent = found(uow.agents.status(user_id), "agent", user_id)
        change = change_state(uow, agent, target, reason=reason, by=by, now=now)
        uow.commit()
    return change


def apply_feature_code(uow: UnitOfWork, sip_username: str, code: str, now: datetime) -> AgentStateChange:
    """Apply a feature code dialled by the phone registered as ``sip_username``.

    ``NotFound`` when the username is no active agent, ``InvalidInput`` for an unknown code,
    ``IllegalTransition`` when the code makes no sense now (``*21`` while on a call).
    """
    with uow:
        agent = uow.agents.by_username(sip_username)
        if agent is None:
            raise NotFound("agent", sip_username)
        by = f"feature:{code}"
        if code == "*21":
            target, reason = AgentState.AVAILABLE, "login"
        elif code == "*22":
            target, reason = AgentState.LOGGED_OUT, "logout"
        elif code == "*23":
            paused = agent.state is AgentState.PAUSED
            target = AgentState.AVAILABLE if paused else AgentState.PAUSED
            reason = "" if paused else FEATURE_PAUSE_REASON
        else:
            raise InvalidInput("agent.unknown_feature_code", feature=code)
        change = change_state(uow, agent, target, reason=reason, by=by, now=now)
        uow.commit()
    return change


def apply_acd_changes(uow: UnitOfWork, changes: Iterable[AcdStateChange]) -> list[AgentStateChange]:
    """Store the state changes the ACD engine reports (ring, answered, wrap-up...), in one transaction.

    These are facts, not requests: they are stored from whatever state the store holds, without the
    request table (refusing one would leave the store disagreeing with the calls, and lose the
    whole batch). A change whose target the store holds already is skipped: the engine echoes changes
    it was fed (an agent's own login), and those were logged when they were made. Agents the store
    does not know (removed while a call rang) are skipped too.
    """
    stored: list[AgentStateChange] = []
    with uow:
        for change in changes:
            agent = uow.agents.by_username(change.agent)
            target = to_domain(change.state)
            if agent is None or agent.state is target:
                continue
            at = datetime.fromtimestamp(change.at, UTC)
            by = f"acd:{change.call_id}" if change.call_id else "acd"
            reason = change.reason.strip()[:MAX_REASON_LENGTH]
            fact = AgentStateChange(agent.user_id, at, agent.state, target, reason=reason, by=by[:64])
            stored.append(uow.agents.change_state(fact))
        uow.commit()
    return stored


def add_contact(
    uow: UnitOfWork, user_id: int, kind: ContactKind, address: str, *, priority: int = 0
) -> AgentContact:
    """Give agent ``user_id`` a contact: a SIP username (of a phone registered with Waterline) or a
    mainland mobile (stored canonical). ``NotFound`` / ``InvalidInput`` / ``Conflict`` (taken)."""
    cleaned = address.strip()
    if kind is ContactKind.MOBILE:
        cleaned = normalise(cleaned)
    elif not USERNAME_PATTERN.match(cleaned):
        raise InvalidInput("invalid_input", detail=f"SIP username {address!r}")
    with uow:
        found(uow.agents.status(user_id), "agent", user_id)
        contact = uow.agents.add_contact(AgentContact(user_id, kind, cleaned, priority))
        uow.commit()
    return contact


def remove_contact(uow: UnitOfWork, contact_id: int) -> None:
    """Delete a contact; ``NotFound`` when there is none."""
    with uow:
        if not uow.agents.remove_contact(contact_id):
            raise NotFound("contact", contact_id)
        uow.commit()
