"""Call dispositions in the store (SQLite and PostgreSQL): replace per call and agent, queries, and the
migration 0006 schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from argon2 import PasswordHasher
from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session, sessionmaker

import waterline.adapters.db.dispositions  # noqa: F401  (register the table on the metadata)
from waterline.adapters.db.dispositions import DispositionRepository
from waterline.adapters.db.engine import create_engine
from waterline.adapters.db.metadata import metadata
from waterline.adapters.db.migrations import downgrade
from waterline.adapters.db.orm import start_mappers
from waterline.adapters.db.users import UserRepository
from waterline.domain.dispositions import CallDisposition, DispositionCode, new_disposition
from waterline.domain.users import Role

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def _agents(factory: sessionmaker[Session]) -> tuple[int, int]:
    with factory() as session:
        repo = UserRepository(session, FAST)
        li = repo.add("li", Role.AGENT, "password-1", now=T0).id
        wu = repo.add("wu", Role.AGENT, "password-1", now=T0).id
        session.commit()
    return li, wu


def test_migration_0006_matches_the_table(db_engine: Engine) -> None:
    start_mappers()
    assert "call_dispositions" in inspect(db_engine).get_table_names()
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert list(compare_metadata(context, metadata)) == []


def test_downgrade_to_0005_drops_the_table(migrated_db_url: str) -> None:
    downgrade(migrated_db_url, "0005")
    engine = create_engine(migrated_db_url)
    try:
        assert "call_dispositions" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_a_second_disposition_of_the_same_agent_replaces_the_first(
    session_factory: sessionmaker[Session],
) -> None:
    li, wu = _agents(session_factory)
    with session_factory() as session:
        repo = DispositionRepository(session)
        first = repo.save(new_disposition("call-1", li, "inquiry", "问价格", T0))
        again = repo.save(new_disposition("call-1", li, "order", "下单两桶", T0 + timedelta(seconds=20)))
        other = repo.save(new_disposition("call-1", wu, "other", "转接前", T0 + timedelta(seconds=5)))
        repo.save(new_disposition("call-2", li, "complaint", "送晚了", T0 + timedelta(hours=2)))
        session.commit()
    assert again.id == first.id and other.id != first.id
    with session_factory() as session:
        repo = DispositionRepository(session)
        assert repo.for_call("call-1") == [
            CallDisposition("call-1", wu, DispositionCode.OTHER, "转接前", T0 + timedelta(seconds=5),
                            other.id),
            CallDisposition("call-1", li, DispositionCode.ORDER, "下单两桶", T0 + timedelta(seconds=20),
                            first.id),
        ]
        assert [d.call_id for d in repo.of_agent(li)] == ["call-2", "call-1"]
        assert [d.call_id for d in repo.of_agent(li, since=T0 + timedelta(hours=1))] == ["call-2"]
        assert [d.call_id for d in repo.of_agent(li, until=T0 + timedelta(hours=1))] == ["call-1"]
        assert repo.of_agent(wu, limit=1)[0].at == T0 + timedelta(seconds=5)
