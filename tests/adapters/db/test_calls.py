"""The CDR store (and the migration 0004 schema check) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session, sessionmaker

import waterline.adapters.db.calls
import waterline.adapters.db.complaints
import waterline.adapters.db.flows
import waterline.adapters.db.holidays
import waterline.adapters.db.recordings
import waterline.adapters.db.tasks
import waterline.adapters.db.users  # noqa: F401  (every table module registers on the metadata)
from waterline.adapters.db.metadata import metadata
from waterline.adapters.db.migrations import downgrade
from waterline.adapters.db.orm import start_mappers
from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.domain.callrecords import CallOutcome, CallRecord, HangupSide, PathStep
from waterline.domain.errors import Conflict
from waterline.services.ports import CallFilter

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
NEW_TABLES = {"flows", "flow_versions", "dids", "calls", "tasks", "complaints", "holiday_overrides"}


def _diffs(engine: Engine) -> list[object]:
    start_mappers()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_migration_0004_matches_the_tables(db_engine: Engine) -> None:
    assert NEW_TABLES <= set(inspect(db_engine).get_table_names())
    assert _diffs(db_engine) == []


def test_schema_check_notices_a_missing_index(db_engine: Engine) -> None:
    with db_engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_calls_started_at_id"))
    assert any("ix_calls_started_at_id" in str(diff) for diff in _diffs(db_engine))


def test_downgrade_to_0003_drops_only_the_call_tables(migrated_db_url: str) -> None:
    downgrade(migrated_db_url, "0003")
    from waterline.adapters.db.engine import create_engine

    engine = create_engine(migrated_db_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert not NEW_TABLES & tables
    assert {"recordings", "orders"} <= tables


def _record(call_id: str, started: datetime, caller: str = "13912345678") -> CallRecord:
    return CallRecord(call_id=call_id, caller=caller, did="4006360888", started_at=started,
                      flow_name="default", flow_version=2, region_city="西安市", region_source="customer")


def test_record_round_trip_with_path(session_factory: sessionmaker[Session]) -> None:
    uow = SqlAlchemyUnitOfWork(session_factory)
    with uow:
        record = uow.calls.add(_record("abc@host", T0))
        uow.commit()
    assert record.id is not None
    with uow:
        stored = uow.calls.get_by_call_id("abc@host")
        assert stored is not None and stored.is_open and stored.path == []
        stored.answered_at = T0 + timedelta(seconds=1)
        stored.path = [PathStep("welcome", "menu", T0 + timedelta(seconds=1), digits="1", detail="订水")]
        stored.digits = "11"
        stored.order_id = 7
        stored.close(ended_at=T0 + timedelta(seconds=30), outcome=CallOutcome.ORDER_PLACED,
                     hangup_side=HangupSide.SYSTEM, hangup_cause="flow end")
        uow.calls.save(stored)
        uow.commit()
    with uow:
        again = uow.calls.get(record.id)
    assert again is not None and not again.is_open
    assert again.outcome is CallOutcome.ORDER_PLACED and again.hangup_side is HangupSide.SYSTEM
    assert again.total_seconds == 30.0 and again.order_id == 7 and again.digits == "11"
    assert again.path == [PathStep("welcome", "menu", T0 + timedelta(seconds=1), digits="1", detail="订水")]
    assert again.region_city == "西安市" and again.flow_version == 2


def test_duplicate_call_id_is_a_conflict(session_factory: sessionmaker[Session]) -> None:
    uow = SqlAlchemyUnitOfWork(session_factory)
    with uow:
        uow.calls.add(_record("dup", T0))
        uow.commit()
    with uow, pytest.raises(Conflict):
        uow.calls.add(_record("dup", T0))


def test_search_filters_and_pages_newest_first(session_factory: sessionmaker[Session]) -> None:
    uow = SqlAlchemyUnitOfWork(session_factory)
    with uow:
        for n in range(5):
            caller = "13900000000" if n % 2 else "13911111111"
            record = _record(f"c{n}", T0 + timedelta(minutes=n), caller=caller)
            uow.calls.add(record)
            if n < 3:
                record.close(ended_at=record.started_at + timedelta(seconds=5),
                             outcome=CallOutcome.ABANDONED if n == 1 else CallOutcome.IVR_COMPLETED,
                             hangup_side=HangupSide.CALLER)
                uow.calls.save(record)
        uow.commit()
    with uow:
        every = [r.call_id for r in uow.calls.search(CallFilter())]
        page = [r.call_id for r in uow.calls.search(CallFilter(limit=2, offset=1))]
        window = uow.calls.search(CallFilter(started_from=T0 + timedelta(minutes=1),
                                             started_to=T0 + timedelta(minutes=3)))
        by_caller = uow.calls.search(CallFilter(caller="13900000000"))
        abandoned = uow.calls.search(CallFilter(outcome=CallOutcome.ABANDONED))
        still_open = [r.call_id for r in uow.calls.open_records()]
    assert every == ["c4", "c3", "c2", "c1", "c0"]
    assert page == ["c3", "c2"]
    assert [r.call_id for r in window] == ["c2", "c1"]
    assert [r.call_id for r in by_caller] == ["c3", "c1"]
    assert [r.call_id for r in abandoned] == ["c1"]
    assert still_open == ["c3", "c4"]
