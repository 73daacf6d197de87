"""The audit log in the store (SQLite and PostgreSQL): the migration 0007 schema, batches, filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from argon2 import PasswordHasher
from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session, sessionmaker

import waterline.adapters.db.audit  # noqa: F401  (register the table on the metadata)
from waterline.adapters.db.audit import AuditFilter, AuditLogRepository
from waterline.adapters.db.engine import create_engine
from waterline.adapters.db.metadata import metadata
from waterline.adapters.db.migrations import downgrade
from waterline.adapters.db.orm import start_mappers
from waterline.adapters.db.users import UserRepository
from waterline.domain.audit import AuditEntry
from waterline.domain.users import Role

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def entry(at: datetime, user_id: int | None, resource: str, method: str = "POST") -> AuditEntry:
    return AuditEntry(
        at=at, user_id=user_id, role="agent" if user_id else "", method=method, path=f"/api/{resource}/1",
        route=f"/api/{resource}/{{id}}", resource=resource, target="id=1", status=200, summary='{"x":1}',
    )


def test_migration_0007_matches_the_table(db_engine: Engine) -> None:
    start_mappers()
    assert "audit_log" in inspect(db_engine).get_table_names()
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert list(compare_metadata(context, metadata)) == []


def test_downgrade_to_0006_drops_the_table(migrated_db_url: str) -> None:
    downgrade(migrated_db_url, "0006")
    engine = create_engine(migrated_db_url)
    try:
        assert "audit_log" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_a_batch_is_listed_newest_first_with_names_and_filters(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session:
        li = UserRepository(session, FAST).add("li", Role.AGENT, "password-1", now=T0, display_name="李丽").id
        session.commit()
    with session_factory() as session:
        repo = AuditLogRepository(session)
        repo.add_all([])
        repo.add_all([
            entry(T0, li, "orders"),
            entry(T0 + timedelta(minutes=1), li, "customers", "PATCH"),
            entry(T0 + timedelta(minutes=2), None, "orders"),
            entry(T0 + timedelta(days=1), li, "orders", "DELETE"),
        ])
        session.commit()
    with session_factory() as session:
        repo = AuditLogRepository(session)
        day = repo.search(AuditFilter(since=T0, until=T0 + timedelta(days=1)))
        assert [(r.entry.resource, r.entry.method) for r in day] == [
            ("orders", "POST"), ("customers", "PATCH"), ("orders", "POST"),
        ][::-1]
        assert (day[1].username, day[1].display_name) == ("li", "李丽")
        assert (day[0].username, day[0].entry.user_id) == ("", None)
        assert [r.entry.at for r in repo.search(AuditFilter(resource="orders", user_id=li))] == [
            T0 + timedelta(days=1), T0,
        ]
        assert len(repo.search(AuditFilter(limit=2, offset=3))) == 1
        stored = day[2].entry
        assert (stored.route, stored.target, stored.status, stored.summary, stored.role) == (
            "/api/orders/{id}", "id=1", 200, '{"x":1}', "agent",
        )
