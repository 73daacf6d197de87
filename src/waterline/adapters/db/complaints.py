"""The ``complaints`` table (complaint tickets linked to calls) and :class:`SqlAlchemyComplaintRepository`."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Column, Index, Integer, String, Table, Text, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from waterline.adapters.db.metadata import metadata
from waterline.adapters.db.orm import UtcDateTime
from waterline.domain.tasks import Complaint
from waterline.services.ports import ComplaintRepository

__all__ = ["SqlAlchemyComplaintRepository", "complaints_table"]

complaints_table = Table(
    "complaints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reason", String(64), nullable=False),
    Column("caller", String(32), nullable=False),
    Column("call_id", String(255), nullable=True),
    Column("customer_id", Integer, nullable=True),
    Column("note", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_complaints_created_at", "created_at"),
    Index("ix_complaints_customer_id", "customer_id"),
)


def _complaint(row: RowMapping) -> Complaint:
    return Complaint(
        id=row["id"], reason=row["reason"], caller=row["caller"], call_id=row["call_id"],
        customer_id=row["customer_id"], note=row["note"], created_at=row["created_at"],
    )


class SqlAlchemyComplaintRepository:
    """Implements ``services.ports.ComplaintRepository`` on the session of a unit of work."""

    def __init__(self, session: Callable[[], Session]) -> None:
        self._session = session

    def add(self, complaint: Complaint) -> Complaint:
        """Insert the complaint and set its id."""
        key = self._session().execute(
            complaints_table.insert().values(
                reason=complaint.reason, caller=complaint.caller, call_id=complaint.call_id,
                customer_id=complaint.customer_id, note=complaint.note, created_at=complaint.created_at,
            ).returning(complaints_table.c.id)
        ).scalar_one()
        complaint.id = int(key)
        return complaint

    def get(self, complaint_id: int) -> Complaint | None:
        """The complaint with this id, or None."""
        row = self._session().execute(
            select(complaints_table).where(complaints_table.c.id == complaint_id)
        ).mappings().one_or_none()
        return None if row is None else _complaint(row)

    def search(self, *, customer_id: int | None = None, limit: int = 50, offset: int = 0) -> list[Complaint]:
        """Complaints (of one customer when given), newest first."""
        query = select(complaints_table)
        if customer_id is not None:
            query = query.where(complaints_table.c.customer_id == customer_id)
        query = query.order_by(complaints_table.c.created_at.desc(), complaints_table.c.id.desc())
        rows = self._session().execute(query.limit(limit).offset(offset)).mappings().all()
        return [_complaint(row) for row in rows]


def _conforms(repo: SqlAlchemyComplaintRepository) -> ComplaintRepository:
    # mypy checks here that the adapter implements the port
    return repo
