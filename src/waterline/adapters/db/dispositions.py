"""The ``call_dispositions`` table (an agent's wrap-up code and notes per call) and its repository.

Outside the unit of work, like the users store: only the console's call routes read and write it, in
the request's own session.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from waterline.adapters.db.metadata import metadata
from waterline.adapters.db.orm import UtcDateTime
from waterline.adapters.db.users import users_table
from waterline.domain.dispositions import CallDisposition, DispositionCode

__all__ = ["DispositionRepository", "dispositions_table"]

dispositions_table = Table(
    "call_dispositions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_id", String(255), nullable=False),
    Column("agent_id", Integer, ForeignKey(users_table.c.id), nullable=False),
    Column("code", String(20), nullable=False),
    Column("notes", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    UniqueConstraint("call_id", "agent_id"),
    Index("ix_call_dispositions_agent_id_at", "agent_id", "at"),
)


def _disposition(row: RowMapping) -> CallDisposition:
    return CallDisposition(
        call_id=row["call_id"], agent_id=row["agent_id"], code=DispositionCode(row["code"]),
        notes=row["notes"], at=row["at"], id=row["id"],
    )


class DispositionRepository:
    """Reads and writes dispositions in ``session``; the caller commits."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def save(self, disposition: CallDisposition) -> CallDisposition:
        """Store ``disposition``, replacing the same agent's earlier one for the call; with its id."""
        table = dispositions_table
        values = {"code": disposition.code.value, "notes": disposition.notes, "at": disposition.at}
        existing = self._session.execute(
            select(table.c.id).where(table.c.call_id == disposition.call_id,
                                     table.c.agent_id == disposition.agent_id)
        ).scalar_one_or_none()
        if existing is not None:
            self._session.execute(table.update().where(table.c.id == existing).values(**values))
            key = int(existing)
        else:
            key = int(self._session.execute(
                table.insert().values(call_id=disposition.call_id, agent_id=disposition.agent_id, **values)
                .returning(table.c.id)
            ).scalar_one())
        return CallDisposition(disposition.call_id, disposition.agent_id, disposition.code,
                               disposition.notes, disposition.at, key)

    def for_call(self, call_id: str) -> list[CallDisposition]:
        """Every agent's disposition of ``call_id``, oldest first."""
        rows = self._session.execute(
            select(dispositions_table).where(dispositions_table.c.call_id == call_id)
            .order_by(dispositions_table.c.at, dispositions_table.c.id)
        ).mappings().all()
        return [_disposition(row) for row in rows]

    def of_agent(
        self, agent_id: int, *, since: datetime | None = None, until: datetime | None = None, limit: int = 100
    ) -> list[CallDisposition]:
        """``agent_id``'s dispositions recorded in ``[since, until)``, newest first."""
        query = select(dispositions_table).where(dispositions_table.c.agent_id == agent_id)
        if since is not None:
            query = query.where(dispositions_table.c.at >= since)
        if until is not None:
            query = query.where(dispositions_table.c.at < until)
        query = query.order_by(dispositions_table.c.at.desc(), dispositions_table.c.id.desc()).limit(limit)
        return [_disposition(row) for row in self._session.execute(query).mappings().all()]
