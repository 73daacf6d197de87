"""The ``calls`` table (call detail records) and :class:`SqlAlchemyCallRecordRepository`.

The path is a JSON list of ``{"node", "kind", "at", "digits", "detail"}`` with ``at`` in ISO 8601
UTC. A record is inserted when the call starts (``ended_at`` NULL) and updated when it ends.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Double,
    Index,
    Integer,
    String,
    Table,
    select,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from waterline.adapters.db.metadata import metadata
from waterline.adapters.db.orm import UtcDateTime
from waterline.domain.callrecords import CallOutcome, CallRecord, HangupSide, PathStep
from waterline.domain.errors import Conflict
from waterline.services.ports import CallFilter, CallRecordRepository

__all__ = ["SqlAlchemyCallRecordRepository", "calls_table", "path_from_json", "path_to_json"]

_OUTCOMES = ", ".join(f"'{outcome.value}'" for outcome in CallOutcome)

calls_table = Table(
    "calls",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_id", String(255), nullable=False, unique=True),
    Column("caller", String(32), nullable=False),
    Column("did", String(20), nullable=False),
    Column("region_city", String(32), nullable=True),
    Column("region_source", String(32), nullable=True),
    Column("flow_name", String(64), nullable=True),
    Column("flow_version", Integer, nullable=True),
    Column("customer_id", Integer, nullable=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("answered_at", UtcDateTime, nullable=True),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("path", JSON, nullable=False),
    Column("digits", String(255), nullable=False),
    Column("queue", String(64), nullable=True),
    Column("agent", String(64), nullable=True),
    Column("wait_seconds", Double, nullable=False),
    Column("talk_seconds", Double, nullable=False),
    Column("total_seconds", Double, nullable=False),
    Column("outcome", String(20), nullable=True),
    Column("hangup_side", String(10), nullable=True),
    Column("hangup_cause", String(255), nullable=False),
    Column("recording_id", Integer, nullable=True),
    Column("order_id", Integer, nullable=True),
    CheckConstraint(f"outcome IS NULL OR outcome IN ({_OUTCOMES})", name="outcome"),
    # the console lists a day's calls newest first; the caller column answers "calls of this number"
    Index("ix_calls_started_at_id", "started_at", "id"),
    Index("ix_calls_caller_started_at", "caller", "started_at"),
    # startup recovery looks for the open ones
    Index("ix_calls_ended_at", "ended_at"),
)


def path_to_json(path: list[PathStep]) -> list[dict[str, Any]]:
    """The path as stored (and as the API shows it)."""
    return [
        {"node": s.node, "kind": s.kind, "at": s.at.isoformat(), "digits": s.digits, "detail": s.detail}
        for s in path
    ]


def path_from_json(value: list[dict[str, Any]]) -> list[PathStep]:
    """The path read back."""
    return [
        PathStep(node=str(s["node"]), kind=str(s["kind"]), at=datetime.fromisoformat(str(s["at"])),
                 digits=str(s.get("digits", "")), detail=str(s.get("detail", "")))
        for s in value
    ]


def _values(record: CallRecord) -> dict[str, Any]:
    return {
        "call_id": record.call_id, "caller": record.caller, "did": record.did,
        "region_city": record.region_city, "region_source": record.region_source,
        "flow_name": record.flow_name, "flow_version": record.flow_version,
        "customer_id": record.customer_id, "started_at": record.started_at,
        "answered_at": record.answered_at, "ended_at": record.ended_at,
        "path": path_to_json(record.path), "digits": record.digits, "queue": record.queue,
        "agent": record.agent, "wait_seconds": record.wait_seconds, "talk_seconds": record.talk_seconds,
        "total_seconds": record.total_seconds,
        "outcome": None if record.outcome is None else record.outcome.value,
        "hangup_side": None if record.hangup_side is None else record.hangup_side.value,
        "hangup_cause": record.hangup_cause, "recording_id": record.recording_id,
        "order_id": record.order_id,
    }


def _record(row: RowMapping) -> CallRecord:
    return CallRecord(
        id=row["id"], call_id=row["call_id"], caller=row["caller"], did=row["did"],
        region_city=row["region_city"], region_source=row["region_source"],
        flow_name=row["flow_name"], flow_version=row["flow_version"], customer_id=row["customer_id"],
        started_at=row["started_at"], answered_at=row["answered_at"], ended_at=row["ended_at"],
        path=path_from_json(row["path"]), digits=row["digits"], queue=row["queue"], agent=row["agent"],
        wait_seconds=float(row["wait_seconds"]), talk_seconds=float(row["talk_seconds"]),
        total_seconds=float(row["total_seconds"]),
        outcome=None if row["outcome"] is None else CallOutcome(row["outcome"]),
        hangup_side=None if row["hangup_side"] is None else HangupSide(row["hangup_side"]),
        hangup_cause=row["hangup_cause"], recording_id=row["recording_id"], order_id=row["order_id"],
    )


class SqlAlchemyCallRecordRepository:
    """Implements ``services.ports.CallRecordRepository`` on the session of a unit of work."""

    def __init__(self, session: Callable[[], Session]) -> None:
        self._session = session

    def add(self, record: CallRecord) -> CallRecord:
        """Insert the record and set its id; a duplicate call id is a ``Conflict``."""
        try:
            key = self._session().execute(
                calls_table.insert().values(**_values(record)).returning(calls_table.c.id)
            ).scalar_one()
        except IntegrityError as exc:
            raise Conflict("conflict", detail=f"call {record.call_id} is already recorded") from exc
        record.id = int(key)
        return record

    def get(self, record_id: int) -> CallRecord | None:
        """The record with this id, or None."""
        row = self._session().execute(
            select(calls_table).where(calls_table.c.id == record_id)
        ).mappings().one_or_none()
        return None if row is None else _record(row)

    def get_by_call_id(self, call_id: str) -> CallRecord | None:
        """The record of this Call-ID, or None."""
        row = self._session().execute(
            select(calls_table).where(calls_table.c.call_id == call_id)
        ).mappings().one_or_none()
        return None if row is None else _record(row)

    def save(self, record: CallRecord) -> None:
        """Write every column of the record back."""
        if record.id is None:
            raise ValueError("save() needs a stored record (id set)")
        self._session().execute(
            update(calls_table).where(calls_table.c.id == record.id).values(**_values(record))
        )

    def search(self, criteria: CallFilter) -> list[CallRecord]:
        """Records matching ``criteria``, newest first."""
        query = select(calls_table)
        if criteria.started_from is not None:
            query = query.where(calls_table.c.started_at >= criteria.started_from)
        if criteria.started_to is not None:
            query = query.where(calls_table.c.started_at < criteria.started_to)
        if criteria.caller is not None:
            query = query.where(calls_table.c.caller == criteria.caller)
        if criteria.outcome is not None:
            query = query.where(calls_table.c.outcome == criteria.outcome.value)
        query = query.order_by(calls_table.c.started_at.desc(), calls_table.c.id.desc())
        rows = self._session().execute(query.limit(criteria.limit).offset(criteria.offset)).mappings().all()
        return [_record(row) for row in rows]

    def open_records(self) -> list[CallRecord]:
        """Records not closed yet, oldest first."""
        rows = self._session().execute(
            select(calls_table).where(calls_table.c.ended_at.is_(None)).order_by(calls_table.c.id)
        ).mappings().all()
        return [_record(row) for row in rows]


def _conforms(repo: SqlAlchemyCallRecordRepository) -> CallRecordRepository:
    # mypy checks here that the adapter implements the port
    return repo
