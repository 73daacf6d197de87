"""The dispatch board's change feed on the order transitions table (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from waterline.adapters.db.board import LOOK_BACK, SqlOrderChangeFeed
from waterline.adapters.db.orm import order_transitions_table
from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.domain.orders import Channel, OrderItem, OrderState, new_order

from .conftest import water, zhang

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _orders(uow: SqlAlchemyUnitOfWork, count: int) -> list[int]:
    with uow:
        product = uow.products.add(water())
        customer = uow.customers.add(zhang())
        assert product.id and customer.id and customer.addresses[0].id
        ids = []
        address_id = customer.addresses[0].id
        for n in range(count):
            order = new_order(
                number=f"SX20261125-{n + 1:04d}", customer_id=customer.id, address_id=address_id,
                items=[OrderItem(product.id, 1, 2000)], channel=Channel.AGENT, at=T0, by="7",
            )
            uow.orders.add(order)
            assert order.id is not None
            ids.append(order.id)
        uow.commit()
    return ids


def test_cursor_and_changes_after_it(
    uow_factory: Callable[[], SqlAlchemyUnitOfWork], session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session:
        assert SqlOrderChangeFeed(session).cursor() == 0
    first, second = _orders(uow_factory(), 2)
    late = T0 + timedelta(hours=1)  # "now" is an hour on: nothing counts as recent
    with session_factory() as session:
        feed = SqlOrderChangeFeed(session)
        cursor = feed.cursor()
        assert cursor > 0
        assert sorted(feed.changed_since(0, late, 10)) == [first, second]
        assert feed.changed_since(cursor, late, 10) == []
    uow = uow_factory()
    with uow:
        order = uow.orders.get(first)
        assert order is not None
        order.transition(OrderState.CANCELLED, late, "7", "客户取消")
        uow.commit()
    with session_factory() as session:
        feed = SqlOrderChangeFeed(session)
        assert feed.changed_since(cursor, late + timedelta(hours=1), 10) == [first]
        assert feed.cursor() > cursor
        # at most ``limit`` orders, the most recently changed first
        assert feed.changed_since(0, late + timedelta(hours=1), 1) == [first]


def test_recent_transitions_below_the_cursor_come_again_within_the_look_back(
    uow_factory: Callable[[], SqlAlchemyUnitOfWork], session_factory: sessionmaker[Session]
) -> None:
    [order_id] = _orders(uow_factory(), 1)
    with session_factory() as session:
        feed = SqlOrderChangeFeed(session)
        cursor = feed.cursor()
        # recorded at T0: recent when asked with recent_since <= T0 (a commit that came late)
        assert feed.changed_since(cursor, T0, 10) == [order_id]
        assert feed.changed_since(cursor, T0 + timedelta(seconds=1), 10) == []
        # far below the cursor the time condition is not looked at (the poll reads an id range)
        assert feed.changed_since(cursor + LOOK_BACK, T0, 10) == []
    with session_factory() as session:
        session.execute(update(order_transitions_table).values(at=T0 + timedelta(days=1)))
        session.commit()
        assert SqlOrderChangeFeed(session).changed_since(cursor, T0 + timedelta(days=1), 10) == [order_id]
