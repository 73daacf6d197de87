"""The ``queues``, ``queue_members`` and ``queue_log`` tables and their repositories.

A queue's behaviour (strategy, timeouts, tiers, overflow chain...) is one JSON column holding the
ACD's ``QueueConfig`` (``services.queues.config_to_json``): the engine owns those fields and adds
some as it grows, and a column per field would need a migration for each. Station and purpose are
real columns, because one station has at most one queue per purpose and the console lists by them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Double,
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
from waterline.calls.queue import QueueMember
from waterline.domain.agents import QueuePurpose
from waterline.domain.errors import Conflict, NotFound
from waterline.domain.queuelog import QueueLogRecord
from waterline.services.ports import QueueDefinition, QueueLogFilter, QueueLogRepository, QueueRepository
from waterline.services.queues import config_from_json, config_to_json

__all__ = [
    "SqlAlchemyQueueLogRepository",
    "SqlAlchemyQueueRepository",
    "queue_log_table",
    "queue_members_table",
    "queues_table",
]

queues_table = Table(
    "queues",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("station_id", Integer, ForeignKey("stations.id"), nullable=False),
    Column("purpose", String(12), nullable=False),
    Column("config", JSON, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("purpose IN ('orders', 'inquiries', 'complaints')", name="purpose"),
    UniqueConstraint("station_id", "purpose"),
)

queue_members_table = Table(
    "queue_members",
    metadata,
    Column("queue_id", Integer, ForeignKey("queues.id"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("tier", Integer, nullable=False),
    CheckConstraint("tier >= 0", name="tier"),
    # "which queues does this agent answer" when the agent logs in
    Index("ix_queue_members_user_id", "user_id"),
)

queue_log_table = Table(
    "queue_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    # names, not ids: the log outlives renamed or deleted queues and agents, like a CDR
    Column("queue", String(64), nullable=False),
    Column("call_id", String(255), nullable=False),
    Column("agent", String(32), nullable=False),
    Column("event", String(24), nullable=False),
    Column("wait", Double, nullable=True),
    Column("position", Integer, nullable=True),
    Column("reason", String(255), nullable=False),
    Column("detail", JSON, nullable=False),
    # reports: a period, of one queue, of one event kind; a call's story by call id
    Index("ix_queue_log_at", "at"),
    Index("ix_queue_log_queue_at", "queue", "at"),
    Index("ix_queue_log_call_id", "call_id"),
)


def _members(session: Session, queue_ids: Sequence[int]) -> dict[int, tuple[QueueMember, ...]]:
    if not queue_ids:
        return {}
    query = (
        select(queue_members_table.c.queue_id, queue_members_table.c.tier, users_table.c.username)
        .join(users_table, users_table.c.id == queue_members_table.c.user_id)
        .where(queue_members_table.c.queue_id.in_(queue_ids))
        .order_by(queue_members_table.c.queue_id, queue_members_table.c.tier, users_table.c.username)
    )
    found: dict[int, list[QueueMember]] = {key: [] for key in queue_ids}
    for row in session.execute(query).mappings():
        found[row["queue_id"]].append(QueueMember(agent=row["username"], tier=row["tier"]))
    return {key: tuple(members) for key, members in found.items()}


def _definition(row: RowMapping, members: tuple[QueueMember, ...]) -> QueueDefinition:
    return QueueDefinition(
        id=row["id"], station_id=row["station_id"], purpose=QueuePurpose(row["purpose"]),
        config=config_from_json(row["name"], row["config"]), members=members, updated_at=row["updated_at"],
    )


class SqlAlchemyQueueRepository:
    """Implements ``services.ports.QueueRepository`` on the session of a unit of work."""

    def __init__(self, session: Callable[[], Session]) -> None:
        self._session = session

    def _load(self, query: Any) -> list[QueueDefinition]:
        session = self._session()
        rows = session.execute(query).mappings().all()
        members = _members(session, [row["id"] for row in rows])
        return [_definition(row, members[row["id"]]) for row in rows]

    def add(self, definition: QueueDefinition) -> QueueDefinition:
        """Store a new queue (without members); ``Conflict`` for a taken name or station+purpose."""
        try:
            key = self._session().execute(
                queues_table.insert().values(
                    name=definition.config.name, station_id=definition.station_id,
                    purpose=definition.purpose.value, config=config_to_json(definition.config),
                    updated_at=definition.updated_at,
                ).returning(queues_table.c.id)
            ).scalar_one()
        except IntegrityError as exc:
            raise Conflict("conflict", detail="queue name or station and purpose taken") from exc
        return QueueDefinition(
            id=int(key), station_id=definition.station_id, purpose=definition.purpose,
            config=definition.config, members=(), updated_at=definition.updated_at,
        )

    def get(self, queue_id: int) -> QueueDefinition | None:
        """The queue with its members, or None."""
        found = self._load(select(queues_table).where(queues_table.c.id == queue_id))
        return found[0] if found else None

    def get_by_name(self, name: str) -> QueueDefinition | None:
        """The queue named ``name`` with its members, or None."""
        found = self._load(select(queues_table).where(queues_table.c.name == name))
        return found[0] if found else None

    def all(self, *, station_id: int | None = None) -> list[QueueDefinition]:
        """Every queue (of one station when given) with members, by name."""
        query = select(queues_table)
        if station_id is not None:
            query = query.where(queues_table.c.station_id == station_id)
        return self._load(query.order_by(queues_table.c.name))

    def save(self, definition: QueueDefinition) -> None:
        """Write back the station, purpose and configuration (the name included) of a stored queue."""
        if definition.id is None:
            raise ValueError("save() needs a stored queue (id set)")
        try:
            self._session().execute(
                update(queues_table).where(queues_table.c.id == definition.id).values(
                    name=definition.config.name, station_id=definition.station_id,
                    purpose=definition.purpose.value, config=config_to_json(definition.config),
                    updated_at=definition.updated_at,
                )
            )
        except IntegrityError as exc:
            raise Conflict("conflict", detail="queue name or station and purpose taken") from exc

    def set_members(self, queue_id: int, members: Sequence[QueueMember]) -> None:
        """Replace the members of ``queue_id``; ``NotFound`` for a name that is no active agent."""
        session = self._session()
        names = [member.agent for member in members]
        rows = session.execute(
            select(users_table.c.username, users_table.c.id).where(
                users_table.c.username.in_(names), users_table.c.role == "agent",
                users_table.c.active.is_(True),
            )
        ).all()
        ids: dict[str, int] = {row.username: row.id for row in rows}
        for name in names:
            if name not in ids:
                raise NotFound("agent", name)
        session.execute(delete(queue_members_table).where(queue_members_table.c.queue_id == queue_id))
        if members:
            session.execute(
                queue_members_table.insert(),
                [{"queue_id": queue_id, "user_id": ids[m.agent], "tier": m.tier} for m in members],
            )


def _record(row: RowMapping) -> QueueLogRecord:
    return QueueLogRecord(
        id=row["id"], at=row["at"], queue=row["queue"], call_id=row["call_id"], event=row["event"],
        agent=row["agent"], position=row["position"], wait=row["wait"], reason=row["reason"],
        detail=dict(row["detail"]),
    )


class SqlAlchemyQueueLogRepository:
    """Implements ``services.ports.QueueLogRepository``: insert-only, like a ledger."""

    def __init__(self, session: Callable[[], Session]) -> None:
        self._session = session

    def add_many(self, records: Sequence[QueueLogRecord]) -> None:
        """Append records (one round trip for a batch of ACD records)."""
        if not records:
            return
        self._session().execute(
            queue_log_table.insert(),
            [
                {
                    "at": r.at, "queue": r.queue, "call_id": r.call_id, "agent": r.agent, "event": r.event,
                    "wait": r.wait, "position": r.position, "reason": r.reason, "detail": r.detail,
                }
                for r in records
            ],
        )

    def search(self, where: QueueLogFilter) -> list[QueueLogRecord]:
        """Records matching ``where``, oldest first (a call's story reads top-down)."""
        table = queue_log_table
        query = select(table)
        if where.since is not None:
            query = query.where(table.c.at >= where.since)
        if where.until is not None:
            query = query.where(table.c.at < where.until)
        if where.queue is not None:
            query = query.where(table.c.queue == where.queue)
        if where.event is not None:
            query = query.where(table.c.event == where.event)
        if where.call_id is not None:
            query = query.where(table.c.call_id == where.call_id)
        query = query.order_by(table.c.at, table.c.id).limit(where.limit).offset(where.offset)
        return [_record(row) for row in self._session().execute(query).mappings().all()]


def _conforms(repo: SqlAlchemyQueueRepository) -> QueueRepository:
    # mypy checks here that the adapters implement the ports
    return repo


def _conforms_log(repo: SqlAlchemyQueueLogRepository) -> QueueLogRepository:
    return repo
