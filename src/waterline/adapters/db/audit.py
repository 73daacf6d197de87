"""The ``audit_log`` table (who changed what through the API) and its repository.

Outside the unit of work, like the users store: the web edge writes entries in batches
(``web.audit.AuditTrail``) and the audit route reads them, each in a session of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Index, Integer, String, Table, Text, insert, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from waterline.adapters.db.metadata import metadata
from waterline.adapters.db.orm import UtcDateTime
from waterline.adapters.db.users import users_table
from waterline.domain.audit import AuditEntry

__all__ = ["AuditFilter", "AuditLogRepository", "AuditRow", "audit_log_table"]

audit_log_table = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    # no foreign key: the log outlives what it mentions and is written in batches after the change
    Column("user_id", Integer, nullable=True),
    Column("role", String(20), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", String(300), nullable=False),
    Column("route", String(300), nullable=False),
    Column("resource", String(40), nullable=False),
    Column("target", String(200), nullable=False),
    Column("status", Integer, nullable=False),
    Column("summary", Text, nullable=False),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_resource_at", "resource", "at"),
    Index("ix_audit_log_user_id_at", "user_id", "at"),
)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Criteria of a listing; None means any. ``since``/``until`` bound ``at`` (half-open)."""

    since: datetime | None = None
    until: datetime | None = None
    user_id: int | None = None
    resource: str | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class AuditRow:
    """An entry with the name of whoever made it (empty when the user is gone)."""

    entry: AuditEntry
    username: str
    display_name: str


def _entry(row: RowMapping) -> AuditEntry:
    return AuditEntry(
        at=row["at"], user_id=row["user_id"], role=row["role"], method=row["method"], path=row["path"],
        route=row["route"], resource=row["resource"], target=row["target"], status=row["status"],
        summary=row["summary"], id=row["id"],
    )


class AuditLogRepository:
    """Reads and writes the audit log in ``session``; the caller commits."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add_all(self, entries: Sequence[AuditEntry]) -> None:
        """Append ``entries`` (one INSERT for the batch)."""
        if not entries:
            return
        self._session.execute(
            insert(audit_log_table),
            [
                {
                    "at": e.at, "user_id": e.user_id, "role": e.role, "method": e.method, "path": e.path,
                    "route": e.route, "resource": e.resource, "target": e.target, "status": e.status,
                    "summary": e.summary,
                }
                for e in entries
            ],
        )

    def search(self, where: AuditFilter) -> list[AuditRow]:
        """Entries matching ``where``, newest first, with the user's names."""
        log = audit_log_table
        query = select(log, users_table.c.username, users_table.c.display_name).outerjoin(
            users_table, users_table.c.id == log.c.user_id
        )
        if where.since is not None:
            query = query.where(log.c.at >= where.since)
        if where.until is not None:
            query = query.where(log.c.at < where.until)
        if where.user_id is not None:
            query = query.where(log.c.user_id == where.user_id)
        if where.resource is not None:
            query = query.where(log.c.resource == where.resource)
        query = query.order_by(log.c.at.desc(), log.c.id.desc()).limit(where.limit).offset(where.offset)
        return [
            AuditRow(_entry(row), row["username"] or "", row["display_name"] or "")
            for row in self._session.execute(query).mappings().all()
        ]
