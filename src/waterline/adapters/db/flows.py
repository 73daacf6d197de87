"""The ``flows``, ``flow_versions`` and ``dids`` tables and :class:`SqlAlchemyFlowRepository`.

Versions are immutable rows; ``flows.current_version`` names the published one. ``(flow_name,
version)`` is unique, so two editors saving at once cannot both get the same number: the loser's
flush raises ``Conflict``.
"""

from __future__ import annotations

from collections.abc import Callable
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
    delete,
    select,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from waterline.adapters.db.metadata import metadata
from waterline.adapters.db.orm import UtcDateTime
from waterline.domain.errors import Conflict
from waterline.domain.flows import DidRoute, FlowSummary, FlowVersion
from waterline.services.ports import FlowRepository

__all__ = ["SqlAlchemyFlowRepository", "dids_table", "flow_versions_table", "flows_table"]

flows_table = Table(
    "flows",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("current_version", Integer, nullable=True),
    Column("latest_version", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

flow_versions_table = Table(
    "flow_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("flow_name", String(64), ForeignKey("flows.name"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("author", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("flow_name", "version"),
)

dids_table = Table(
    "dids",
    metadata,
    Column("did", String(20), primary_key=True),
    Column("flow_name", String(64), ForeignKey("flows.name"), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # "which numbers use this flow" when a flow is shown
    Index("ix_dids_flow_name", "flow_name"),
)


def _version(row: RowMapping) -> FlowVersion:
    return FlowVersion(
        id=row["id"], name=row["flow_name"], version=row["version"], text=row["text"],
        author=row["author"], created_at=row["created_at"],
    )


def _summary(row: RowMapping) -> FlowSummary:
    return FlowSummary(
        name=row["name"], current_version=row["current_version"], latest_version=row["latest_version"],
        updated_at=row["updated_at"],
    )


def _route(row: RowMapping) -> DidRoute:
    return DidRoute(did=row["did"], flow_name=row["flow_name"], updated_at=row["updated_at"])


class SqlAlchemyFlowRepository:
    """Implements ``services.ports.FlowRepository`` on the session of a unit of work."""

    def __init__(self, session: Callable[[], Session]) -> None:
        self._session = session

    @property
    def session(self) -> Session:
        """The current session."""
        return self._session()

    def add_version(self, name: str, text: str, *, author: str, at: datetime) -> FlowVersion:
        """Save the next version of ``name``; the flow row is created with the first version."""
        session = self.session
        latest = session.execute(
            select(flows_table.c.latest_version).where(flows_table.c.name == name).with_for_update()
        ).scalar_one_or_none()
        number = 1 if latest is None else latest + 1
        try:
            if latest is None:
                session.execute(flows_table.insert().values(
                    name=name, current_version=None, latest_version=1, updated_at=at
                ))
            else:
                session.execute(
                    update(flows_table).where(flows_table.c.name == name)
                    .values(latest_version=number, updated_at=at)
                )
            key = session.execute(
                flow_versions_table.insert()
                .values(flow_name=name, version=number, text=text, author=author, created_at=at)
                .returning(flow_versions_table.c.id)
            ).scalar_one()
        except IntegrityError as exc:  # another editor created the flow or saved this number first
            raise Conflict("conflict", detail=f"flow {name} version {number} saved concurrently") from exc
        return FlowVersion(id=int(key), name=name, version=number, text=text, author=author, created_at=at)

    def get_version(self, name: str, version: int) -> FlowVersion | None:
        """One version, or None."""
        row = self.session.execute(
            select(flow_versions_table).where(
                flow_versions_table.c.flow_name == name, flow_versions_table.c.version == version
            )
        ).mappings().one_or_none()
        return None if row is None else _version(row)

    def versions(self, name: str) -> list[FlowVersion]:
        """Every version of ``name``, newest first."""
        rows = self.session.execute(
            select(flow_versions_table).where(flow_versions_table.c.flow_name == name)
            .order_by(flow_versions_table.c.version.desc())
        ).mappings().all()
        return [_version(row) for row in rows]

    def get(self, name: str) -> FlowSummary | None:
        """The flow, or None."""
        query = select(flows_table).where(flows_table.c.name == name)
        row = self.session.execute(query).mappings().one_or_none()
        return None if row is None else _summary(row)

    def all(self) -> list[FlowSummary]:
        """Every flow by name."""
        rows = self.session.execute(select(flows_table).order_by(flows_table.c.name)).mappings().all()
        return [_summary(row) for row in rows]

    def publish(self, name: str, version: int, *, at: datetime) -> FlowSummary:
        """Make ``version`` current."""
        self.session.execute(
            update(flows_table).where(flows_table.c.name == name)
            .values(current_version=version, updated_at=at)
        )
        found = self.get(name)
        if found is None:
            raise Conflict("conflict", detail=f"flow {name} vanished")
        return found

    def routes(self) -> list[DidRoute]:
        """Every DID by number."""
        rows = self.session.execute(select(dids_table).order_by(dids_table.c.did)).mappings().all()
        return [_route(row) for row in rows]

    def set_route(self, did: str, flow_name: str, *, at: datetime) -> DidRoute:
        """Insert or change the route of ``did``."""
        session = self.session
        exists = session.execute(select(dids_table.c.did).where(dids_table.c.did == did)).first() is not None
        if exists:
            session.execute(
                update(dids_table).where(dids_table.c.did == did).values(flow_name=flow_name, updated_at=at)
            )
        else:
            try:
                session.execute(dids_table.insert().values(did=did, flow_name=flow_name, updated_at=at))
            except IntegrityError as exc:
                raise Conflict("conflict", detail=f"number {did} routed concurrently") from exc
        return DidRoute(did=did, flow_name=flow_name, updated_at=at)

    def remove_route(self, did: str) -> bool:
        """Delete the route of ``did``."""
        session = self.session
        if session.execute(select(dids_table.c.did).where(dids_table.c.did == did)).first() is None:
            return False
        session.execute(delete(dids_table).where(dids_table.c.did == did))
        return True

    def current_for_did(self, did: str) -> FlowVersion | None:
        """The published version for ``did`` in one indexed query (run at every call start)."""
        query = (
            select(flow_versions_table)
            .join(flows_table, flows_table.c.name == flow_versions_table.c.flow_name)
            .join(dids_table, dids_table.c.flow_name == flows_table.c.name)
            .where(dids_table.c.did == did, flow_versions_table.c.version == flows_table.c.current_version)
        )
        row = self.session.execute(query).mappings().one_or_none()
        return None if row is None else _version(row)


def _conforms(repo: SqlAlchemyFlowRepository) -> FlowRepository:
    # mypy checks here that the adapter implements the port
    return repo
