"""Agents, their state changes and contacts as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from waterline.domain.agents import AgentContact, AgentState, AgentStateChange, AgentStatus, ContactKind


class AgentOut(BaseModel):
    """An agent and his current state; ``since`` is None for one who never logged in."""

    id: int
    username: str
    display_name: str
    state: AgentState
    reason: str
    since: datetime | None

    @classmethod
    def of(cls, status: AgentStatus) -> AgentOut:
        """The API view of ``status``."""
        return cls(
            id=status.user_id, username=status.username, display_name=status.display_name,
            state=status.state, reason=status.reason, since=status.since,
        )


class StateIn(BaseModel):
    """What an agent asks for: ``available``, ``paused`` (a reason is required) or ``logged_out``.

    ``state`` is a plain string so that a wrong value gets the domain's bilingual message naming the
    three choices, rather than a schema error."""

    state: str = Field(max_length=20)
    reason: str = Field(default="", max_length=200)


class StateChangeOut(BaseModel):
    """One line of an agent's state log."""

    id: int
    agent_id: int
    at: datetime
    from_state: AgentState
    to_state: AgentState
    reason: str
    by: str

    @classmethod
    def of(cls, change: AgentStateChange) -> StateChangeOut:
        """The API view of ``change``."""
        assert change.id is not None
        return cls(
            id=change.id, agent_id=change.user_id, at=change.at, from_state=change.from_state,
            to_state=change.to_state, reason=change.reason, by=change.by,
        )


class ContactIn(BaseModel):
    """A way to ring an agent: his registered SIP phone (SIP username) or a mobile number."""

    kind: ContactKind
    address: str = Field(min_length=1, max_length=64)
    priority: int = Field(default=0, ge=0, le=99)


class ContactOut(BaseModel):
    """A stored contact."""

    id: int
    agent_id: int
    kind: ContactKind
    address: str
    priority: int

    @classmethod
    def of(cls, contact: AgentContact) -> ContactOut:
        """The API view of ``contact``."""
        assert contact.id is not None
        return cls(
            id=contact.id, agent_id=contact.user_id, kind=contact.kind, address=contact.address,
            priority=contact.priority,
        )
