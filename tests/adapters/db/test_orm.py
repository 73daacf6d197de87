from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from waterline.adapters.db.engine import create_engine
from waterline.adapters.db.metadata import metadata
from waterline.adapters.db.migrations import downgrade
from waterline.adapters.db.orm import (
    BUSINESS_TABLES,
    AppendOnlyViolation,
    is_mapped,
    order_sequences_table,
    outbox_table,
    start_mappers,
    ticket_entries_table,
)
from waterline.domain.customers import Customer, new_address, new_customer
from waterline.domain.orders import Channel, Order, OrderItem, OrderState, new_order
from waterline.domain.products import Product, ProductKind

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


T = TypeVar("T")


def _add(session: Session, obj: T) -> T:
    start_mappers()
    session.add(obj)
    session.flush()
    return obj


def water() -> Product:
    return Product("NFS-189", "农夫山泉 18.9L", "农夫山泉", ProductKind.BARREL, 18900, 2000)


def zhang() -> Customer:
    return new_customer("张伟", ["13912345678"], [new_address("西安市", "雁塔区", "科技路 10 号")])


def _diffs(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_migrated_schema_matches_the_tables(db_engine: Engine) -> None:
    start_mappers()
    assert _diffs(db_engine) == []
    assert {t.name for t in BUSINESS_TABLES} <= set(inspect(db_engine).get_table_names())


def test_schema_comparison_notices_a_missing_index(db_engine: Engine) -> None:
    # proves the test above can fail: drop one index the ORM declares
    with db_engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_outbox_state_next_attempt"))
    assert any("ix_outbox_state_next_attempt" in str(diff) for diff in _diffs(db_engine))


def test_downgrade_to_0001_drops_only_business_tables(migrated_db_url: str) -> None:
    downgrade(migrated_db_url, "0001")
    engine = create_engine(migrated_db_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert "users" in tables
    assert not tables & {t.name for t in BUSINESS_TABLES}


def test_start_mappers_is_idempotent_and_domain_stays_plain() -> None:
    start_mappers()
    start_mappers()
    assert is_mapped()
    customer = Customer("李娜")
    assert customer.phones == [] and customer.enterprise is None and customer.id is None


def test_datetimes_come_back_aware_utc(session_factory: sessionmaker[Session]) -> None:
    xian = timezone(timedelta(hours=8))
    with session_factory() as session:
        customer = _add(session, zhang())
        product = _add(session, water())
        assert customer.id and customer.addresses[0].id and product.id
        order = new_order(
            number="SX20261125-0001",
            customer_id=customer.id,
            address_id=customer.addresses[0].id,
            items=[OrderItem(product.id, 2, 2000)],
            channel=Channel.AGENT,
            at=datetime(2026, 11, 25, 10, 0, tzinfo=xian),
            by="agent1",
            window_start=datetime(2026, 11, 25, 14, 0, tzinfo=xian),
            window_end=datetime(2026, 11, 25, 16, 0, tzinfo=xian),
        )
        _add(session, order)
        session.commit()
        order_id = order.id
    with session_factory() as session:
        assert order_id is not None
        loaded = session.get(Order, order_id)
        assert loaded is not None
        assert loaded.placed_at == datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
        assert loaded.placed_at.tzinfo is not None and loaded.placed_at.utcoffset() == timedelta(0)
        assert loaded.window_start == datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
        assert loaded.transitions[0].at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        with pytest.raises(Exception, match="naive datetime"):
            session.execute(
                insert(outbox_table).values(
                    channel="sms",
                    recipient="13912345678",
                    text="x",
                    template="",
                    segments=1,
                    state="pending",
                    attempts=0,
                    last_error="",
                    provider_message_id="",
                    created_at=datetime(2026, 11, 25, 10, 0),
                )
            )


def test_order_transitions_are_append_only(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        customer = _add(session, zhang())
        product = _add(session, water())
        assert customer.id and customer.addresses[0].id and product.id
        order = _add(
            session,
            new_order(
                number="SX20261125-0001",
                customer_id=customer.id,
                address_id=customer.addresses[0].id,
                items=[OrderItem(product.id, 1, 2000)],
                channel=Channel.IVR,
                at=NOW,
                by="ivr",
            ),
        )
        session.commit()
        order.transitions[0].reason = "rewritten history"
        with pytest.raises(AppendOnlyViolation):
            session.flush()


def test_ledger_table_refuses_negative_balance_even_without_the_domain(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session:
        customer = _add(session, zhang())
        product = _add(session, water())
        with pytest.raises(IntegrityError):
            session.execute(
                insert(ticket_entries_table).values(
                    customer_id=customer.id,
                    product_id=product.id,
                    station_id=None,
                    station_key=0,
                    kind="consumption",
                    quantity=-1,
                    balance_after=-1,
                    seq=1,
                    at=NOW,
                    actor="x",
                    order_id=None,
                    price_fen=0,
                    note="",
                )
            )


def test_enum_columns_store_plain_values(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        session.execute(insert(order_sequences_table).values(day=NOW.date(), last_value=3))
        customer = _add(session, zhang())
        product = _add(session, water())
        assert customer.id and customer.addresses[0].id and product.id
        _add(
            session,
            new_order(
                number="SX20261125-0003",
                customer_id=customer.id,
                address_id=customer.addresses[0].id,
                items=[OrderItem(product.id, 1, 2000)],
                channel=Channel.WEB,
                at=NOW,
                by="web",
            ),
        )
        raw = session.execute(text("SELECT state, channel FROM orders")).one()
        assert tuple(raw) == ("placed", "web")
        assert OrderState(raw[0]) is OrderState.PLACED
        assert session.execute(select(order_sequences_table.c.last_value)).scalar_one() == 3
