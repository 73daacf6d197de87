"""Tables ``agent_contacts``, ``agent_states``, ``agent_state_log`` and :class:`SqlAlchemyAgentRepository`.

An agent is a row of ``users`` with role ``agent``; ``agent_states`` holds at most one row per agent
(its current state), written together with a line of ``agent_state_log`` in the same transaction.
An agent without a row is logged out and has never logged in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    delete,
    select,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from waterline.adapters.db.metadata import metadata
from waterline.adapters.db.orm import UtcDateTime
from waterline.adapters.db.users import users_table
from waterline.domain.agents import AgentContact, AgentState, AgentStateChange, AgentStatus, ContactKind
from waterline.domain.errors import Conflict
from waterline.services.ports import AgentRepository

__all__ = [
    "SqlAlchemyAgentRepository",
    "agent_contacts_table",
    "agent_state_log_table",
    "agent_states_table",
]

STATES_SQL = ", ".join(f"'{state.value}'" for state in AgentState)

agent_contacts_table = Table(
    "agent_contacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("address", String(64), nullable=False),
    Column("priority", Integer, nullable=False),
    CheckConstraint("kind IN ('sip', 'mobile')", name="kind"),
    # one phone or mobile belongs to one agent: the ACD must know whose phone rang
    UniqueConstraint("kind", "address"),
    Index("ix_agent_contacts_user_id", "user_id"),
)

agent_states_table = Table(
    "agent_states",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("state", String(12), nullable=False),
    Column("reason", String(100), nullable=False),
    Column("since", UtcDateTime, nullable=False),
    CheckConstraint(f"state IN ({STATES_SQL})", name="state"),
)

agent_state_log_table = Table(
    "agent_state_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("from_state", String(12), nullable=False),
    Column("to_state", String(12), nullable=False),
    Column("reason", String(100), nullable=False),
    Column("by", String(64), nullable=False),
    CheckConstraint(f"to_state IN ({STATES_SQL})", name="to_state"),
    # one agent's history, newest first; reports scan a day of every agent by the same index's time
    Index("ix_agent_state_log_user_id_at", "user_id", "at"),
    Index("ix_agent_state_log_at", "at"),
)


def _status(row: RowMapping) -> AgentStatus:
    state = row["state"]
    return AgentStatus(
        user_id=row["id"], username=row["username"], display_name=row["display_name"],
        state=AgentState.LOGGED_OUT if state is None else AgentState(state),
        since=row["since"], reason=row["reason"] or "",
    )


def _change(row: RowMapping) -> AgentStateChange:
    return AgentStateChange(
        id=row["id"], user_id=row["user_id"], at=row["at"], from_state=AgentState(row["from_state"]),
        to_state=AgentState(row["to_state"]), reason=row["reason"], by=row["by"],
    )


def _contact(row: RowMapping) -> AgentContact:
    return AgentContact(
        id=row["id"], user_id=row["user_id"], kind=ContactKind(row["kind"]), address=row["address"],
        priority=row["priority"],
    )


_STATUS_QUERY = (
    select(
        users_table.c.id, users_table.c.username, users_table.c.display_name,
        agent_states_table.c.state, agent_states_table.c.since, agent_states_table.c.reason,
    )
    .select_from(users_table)
    .outerjoin(agent_states_table, agent_states_table.c.user_id == users_table.c.id)
    .where(users_table.c.role == "agent", users_table.c.active.is_(True))
)


class SqlAlchemyAgentRepository:
    """Implements ``services.ports.AgentRepository`` on the session of a unit of work."""

    def __init__(self, session: Callable[[], Session]) -> None:
        self._session = session

    def statuses(self) -> list[AgentStatus]:
        """Every active agent with the current state, by username."""
        rows = self._session().execute(_STATUS_QUERY.order_by(users_table.c.username)).mappings().all()
        return [_status(row) for row in rows]

    def status(self, user_id: int) -> AgentStatus | None:
        """The active agent ``user_id`` with the current state, or None (no such agent)."""
        query = _STATUS_QUERY.where(users_table.c.id == user_id)
        row = self._session().execute(query).mappings().one_or_none()
        return None if row is None else _status(row)

    def by_username(self, username: str) -> AgentStatus | None:
        """The active agent whose (SIP) username is ``username``, or None."""
        query = _STATUS_QUERY.where(users_table.c.username == username)
        row = self._session().execute(query).mappings().one_or_none()
        return None if row is None else _status(row)

    def change_state(self, change: AgentStateChange) -> AgentStateChange:
        """Move the agent from ``change.from_state`` and log it; ``Conflict`` when someone else moved
        him first (the current row no longer holds ``from_state``)."""
        session = self._session()
        values: dict[str, Any] = {"state": change.to_state.value, "reason": change.reason, "since": change.at}
        existing = session.execute(
            select(agent_states_table.c.state).where(agent_states_table.c.user_id == change.user_id)
        ).scalar_one_or_none()
        try:
            if existing is None:
                if change.from_state is not AgentState.LOGGED_OUT:
                    raise Conflict("conflict", detail=f"agent {change.user_id} state changed concurrently")
                session.execute(agent_states_table.insert().values(user_id=change.user_id, **values))
            else:
                # compare-and-set: two changes racing from the same state cannot both win
                moved = session.execute(
                    update(agent_states_table)
                    .where(agent_states_table.c.user_id == change.user_id,
                           agent_states_table.c.state == change.from_state.value)
                    .values(**values)
                    .returning(agent_states_table.c.user_id)
                ).first()
                if moved is None:
                    raise Conflict("conflict", detail=f"agent {change.user_id} state changed concurrently")
            key = session.execute(
                agent_state_log_table.insert().values(
                    user_id=change.user_id, at=change.at, from_state=change.from_state.value,
                    to_state=change.to_state.value, reason=change.reason, by=change.by,
                ).returning(agent_state_log_table.c.id)
            ).scalar_one()
        except IntegrityError as exc:
            raise Conflict("conflict", detail=f"agent {change.user_id} state changed concurrently") from exc
        return AgentStateChange(
            id=int(key), user_id=change.user_id, at=change.at, from_state=change.from_state,
            to_state=change.to_state, reason=change.reason, by=change.by,
        )

    def log(
        self, user_id: int, *, since: datetime | None = None, until: datetime | None = None,
        limit: int = 100, offset: int = 0,
    ) -> list[AgentStateChange]:
        """State changes of ``user_id`` in ``[since, until)``, newest first."""
        table = agent_state_log_table
        query = select(table).where(table.c.user_id == user_id)
        if since is not None:
            query = query.where(table.c.at >= since)
        if until is not None:
            query = query.where(table.c.at < until)
        query = query.order_by(table.c.at.desc(), table.c.id.desc()).limit(limit).offset(offset)
        return [_change(row) for row in self._session().execute(query).mappings().all()]

    def contacts(self, user_id: int) -> list[AgentContact]:
        """The contacts of ``user_id``, by priority."""
        table = agent_contacts_table
        query = select(table).where(table.c.user_id == user_id).order_by(table.c.priority, table.c.id)
        return [_contact(row) for row in self._session().execute(query).mappings().all()]

    def add_contact(self, contact: AgentContact) -> AgentContact:
        """Store a contact; ``Conflict`` when that phone or mobile belongs to an agent already."""
        table = agent_contacts_table
        try:
            key = self._session().execute(
                table.insert().values(
                    user_id=contact.user_id, kind=contact.kind.value, address=contact.address,
                    priority=contact.priority,
                ).returning(table.c.id)
            ).scalar_one()
        except IntegrityError as exc:
            detail = f"{contact.kind.value} {contact.address} belongs to an agent"
            raise Conflict("conflict", detail=detail) from exc
        return AgentContact(
            id=int(key), user_id=contact.user_id, kind=contact.kind, address=contact.address,
            priority=contact.priority,
        )

    def remove_contact(self, contact_id: int) -> bool:
        """Delete a contact; False when there was none."""
        table = agent_contacts_table
        gone = self._session().execute(delete(table).where(table.c.id == contact_id).returning(table.c.id))
        return gone.first() is not None


def _conforms(repo: SqlAlchemyAgentRepository) -> AgentRepository:
    # mypy checks here that the adapter implements the port
    return repo
