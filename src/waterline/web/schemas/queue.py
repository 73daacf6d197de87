"""Queues (configuration and members) and queue log lines as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from waterline.calls.queue import QueueMember
from waterline.domain.agents import QueuePurpose
from waterline.domain.queuelog import QueueLogRecord
from waterline.services.ports import QueueDefinition
from waterline.services.queues import config_to_json


class MemberIn(BaseModel):
    """An agent (username) answering a queue at a tier (0: the station's own agents)."""

    agent: str = Field(min_length=1, max_length=32)
    tier: int = Field(default=0, ge=0, le=9)

    def member(self) -> QueueMember:
        """The ACD's member value."""
        return QueueMember(agent=self.agent, tier=self.tier)


class QueueIn(BaseModel):
    """A queue to create or replace. ``config`` is the ACD configuration in JSON form (see
    ``services.queues``); fields left out take the ACD's defaults. ``members`` replaces the members
    when given (on PUT, omit it to keep them)."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    station_id: int
    purpose: QueuePurpose
    config: dict[str, Any] = Field(default_factory=dict)
    members: list[MemberIn] | None = None


class MemberOut(BaseModel):
    """A member as stored."""

    agent: str
    tier: int


class QueueOut(BaseModel):
    """A stored queue with its full configuration (defaults filled in) and members."""

    id: int
    name: str
    station_id: int
    purpose: QueuePurpose
    config: dict[str, Any]
    members: list[MemberOut]
    updated_at: datetime

    @classmethod
    def of(cls, queue: QueueDefinition) -> QueueOut:
        """The API view of ``queue``."""
        assert queue.id is not None
        return cls(
            id=queue.id, name=queue.config.name, station_id=queue.station_id, purpose=queue.purpose,
            config=config_to_json(queue.config),
            members=[MemberOut(agent=m.agent, tier=m.tier) for m in queue.members],
            updated_at=queue.updated_at,
        )


class QueueLogOut(BaseModel):
    """One line of the queue log."""

    id: int
    at: datetime
    queue: str
    call_id: str
    event: str
    agent: str
    position: int | None
    wait: float | None
    reason: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, record: QueueLogRecord) -> QueueLogOut:
        """The API view of ``record``."""
        assert record.id is not None
        return cls(
            id=record.id, at=record.at, queue=record.queue, call_id=record.call_id, event=record.event,
            agent=record.agent, position=record.position, wait=record.wait, reason=record.reason,
            detail=record.detail,
        )
