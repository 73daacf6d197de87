from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from fakes import FakeClock, FakeSmsSender, World, seed_world
from waterline.adapters.db.orm import order_sequences_table, orders_table, outbox_table
from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork, UnitOfWorkNotEntered
from waterline.adapters.sms.log import LogSmsSender
from waterline.domain.commands import (
    AddressInput,
    CancelOrder,
    CreateCustomer,
    PayBucketDeposit,
    PlaceOrder,
    SellTickets,
    TransitionOrder,
)
from waterline.domain.customers import Customer
from waterline.domain.errors import Conflict, NotFound, TicketOverdraw
from waterline.domain.events import CustomerCreated, OrderPlaced
from waterline.domain.orders import Channel, ItemRequest, Order, OrderState
from waterline.domain.outbox import OutboxState
from waterline.services.bus import MessageBus
from waterline.services.context import Dependencies
from waterline.services.outbox import deliver_due
from waterline.services.queries import screen_pop

from .conftest import water, zhang

UowFactory = Callable[[], SqlAlchemyUnitOfWork]
DAY = date(2026, 11, 25)


def _count(uow_factory: UowFactory, table: object) -> int:
    with uow_factory() as uow:
        return int(uow.session.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


# ---------------------------------------------------------------- transaction boundaries


def test_commit_makes_work_durable(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        uow.products.add(water())
        uow.commit()
    with uow_factory() as uow:
        assert [p.sku for p in uow.products.all()] == ["NFS-189"]


def test_leaving_without_commit_rolls_back(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        uow.products.add(water())
        uow.customers.add(zhang())
    with uow_factory() as uow:
        assert uow.products.all() == [] and uow.customers.find_by_phone("13912345678") is None


def test_an_exception_leaves_nothing_half_written(uow_factory: UowFactory) -> None:
    with pytest.raises(ZeroDivisionError):
        with uow_factory() as uow:
            uow.products.add(water())
            uow.flush()
            uow.next_order_sequence(DAY)
            1 / 0  # noqa: B018
    with uow_factory() as uow:
        assert uow.products.all() == []
        assert uow.next_order_sequence(DAY) == 1  # the failed transaction gave its number back


def test_explicit_rollback_discards_changes_and_events(uow_factory: UowFactory) -> None:
    uow = uow_factory()
    with uow:
        product = uow.products.add(water())
        uow.record(CustomerCreated(1))
        uow.rollback()
        assert uow.products.all() == []
        uow.commit()
    assert uow.collect_new_events() == []
    assert product.sku == "NFS-189"


def test_events_are_released_only_by_commit(uow_factory: UowFactory) -> None:
    uow = uow_factory()
    with uow:
        uow.record(CustomerCreated(1))
        assert uow.collect_new_events() == []
        uow.commit()
    with uow:
        uow.record(CustomerCreated(2))  # never committed
    assert uow.collect_new_events() == [CustomerCreated(1)]
    assert uow.collect_new_events() == []


def test_repositories_need_an_entered_unit_of_work(uow: SqlAlchemyUnitOfWork) -> None:
    with pytest.raises(UnitOfWorkNotEntered):
        uow.products.all()
    with uow:
        with pytest.raises(RuntimeError, match="already entered"):
            uow.__enter__()
    with uow:  # re-entering after leaving is fine
        assert uow.products.all() == []


def test_objects_stay_readable_after_the_block(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        uow.customers.add(zhang())
        uow.commit()
    with uow_factory() as uow:
        customer = uow.customers.find_by_phone("13912345678")
    # read-only work: the session was closed without commit, the loaded graph is intact
    assert customer is not None
    assert customer.phone_numbers == ["13912345678"] and customer.addresses[0].district == "雁塔区"


# ---------------------------------------------------------------- order numbers


def test_order_sequence_counts_per_day(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        assert [uow.next_order_sequence(DAY) for _ in range(3)] == [1, 2, 3]
        assert uow.next_order_sequence(DAY + timedelta(days=1)) == 1
        uow.commit()
    with uow_factory() as uow:
        assert uow.next_order_sequence(DAY) == 4
        assert uow.next_order_sequence(DAY - timedelta(days=1)) == 1


def test_order_sequence_is_unique_under_concurrency(uow_factory: UowFactory) -> None:
    taken: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def place_some() -> None:
        try:
            for _ in range(8):
                with uow_factory() as uow:
                    value = uow.next_order_sequence(DAY)
                    uow.commit()
                with lock:
                    taken.append(value)
        except BaseException as exc:  # report in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=place_some) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sorted(taken) == list(range(1, 33))
    with uow_factory() as uow:
        stored = uow.session.execute(select(order_sequences_table.c.last_value)).scalar_one()
    assert stored == 32


def test_second_spend_of_the_same_balance_conflicts(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        product = uow.products.add(water())
        customer = uow.customers.add(zhang())
        assert product.id and customer.id
        account = uow.tickets.account(customer.id, product.id, None)
        uow.tickets.append(account.sell(3, 5400, datetime(2026, 11, 25, tzinfo=UTC), "agent1"))
        uow.commit()
    first, second = uow_factory(), uow_factory()
    at = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    with first, second:
        seen_by_first = first.tickets.account(customer.id, product.id, None)
        seen_by_second = second.tickets.account(customer.id, product.id, None)
        first.tickets.append(seen_by_first.consume(3, None, at, "wang"))
        first.commit()
        with pytest.raises(Conflict):
            second.tickets.append(seen_by_second.consume(2, None, at, "li"))
    with uow_factory() as uow:
        assert uow.tickets.account(customer.id, product.id, None).balance == 0


# ---------------------------------------------------------------- the service layer on the real store


class SqlStore:
    """Lets A's ``seed_world`` (written for ``FakeStore``) seed the real database."""

    def __init__(self, factory: UowFactory) -> None:
        self.uow = factory


@pytest.fixture
def world(uow_factory: UowFactory) -> World:
    return seed_world(SqlStore(uow_factory))  # type: ignore[arg-type]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bus(uow_factory: UowFactory, world: World, clock: FakeClock) -> MessageBus:
    return MessageBus(uow_factory, Dependencies(clock=clock))


def _customer(bus: MessageBus) -> Customer:
    address = AddressInput(
        "西安市", "雁塔区", "大雁塔北广场 3 号楼 2 单元 501", floor=5, lat=34.2197, lon=108.964
    )
    customer = bus.handle(
        CreateCustomer(name="张先生", phones=("13991234567", "029-8888 1234"), addresses=(address,))
    )
    assert isinstance(customer, Customer) and customer.id is not None
    return customer


def _place(bus: MessageBus, customer_id: int, product: int, qty: int = 2, **kwargs: object) -> Order:
    order = bus.handle(PlaceOrder(customer_id=customer_id, items=(ItemRequest(product, qty),), **kwargs))  # type: ignore[arg-type]
    assert isinstance(order, Order)
    return order


def test_place_order_dispatch_and_sms_commit_together(
    bus: MessageBus, world: World, uow_factory: UowFactory, session_factory: sessionmaker[Session]
) -> None:
    customer = _customer(bus)
    assert customer.id is not None
    commits: list[Session] = []

    def count(session: Session) -> None:
        commits.append(session)

    event.listen(session_factory, "after_commit", count)
    placed: list[OrderPlaced] = []
    bus.subscribe(OrderPlaced, lambda e, uow, deps: placed.append(e))
    order = _place(bus, customer.id, world.water, 2, channel=Channel.IVR)
    event.remove(session_factory, "after_commit", count)
    assert len(commits) == 1  # order, dispatch, courier load and outbox row: one transaction
    assert order.number == "SX20261125-0001" and order.state is OrderState.DISPATCHED
    assert [e.order_id for e in placed] == [order.id]
    with uow_factory() as uow:
        assert order.id is not None
        saved = uow.orders.get(order.id)
        assert saved is not None and saved.state is OrderState.DISPATCHED
        assert (saved.station_id, saved.courier_id) == (world.yanta, world.wang)
        assert [t.to_state for t in saved.transitions] == [OrderState.PLACED, OrderState.DISPATCHED]
        wang = uow.couriers.get(world.wang)
        assert wang is not None and wang.load == 2 and wang.active_orders == 1
        [sms] = uow.outbox.search(order_id=order.id)
        assert sms.to == "13991234567" and sms.state is OutboxState.PENDING
        assert "SX20261125-0001" in sms.text and "王师傅" in sms.text
    assert _place(bus, customer.id, world.water, 1).number == "SX20261125-0002"


def test_failed_order_leaves_nothing_in_the_database(
    bus: MessageBus, world: World, uow_factory: UowFactory
) -> None:
    customer = _customer(bus)
    assert customer.id is not None
    with pytest.raises(TicketOverdraw):
        _place(bus, customer.id, world.water, 2, pay_with_tickets=True)  # dispatched, then refused
    with pytest.raises(NotFound):
        _place(bus, customer.id, 9999, 1)
    assert _count(uow_factory, orders_table) == 0 and _count(uow_factory, outbox_table) == 0
    with uow_factory() as uow:
        wang = uow.couriers.get(world.wang)
        assert wang is not None and wang.load == 0
    assert _place(bus, customer.id, world.water, 1).number.endswith("-0001")


def test_delivery_spends_tickets_books_buckets_and_cancel_frees_courier(
    bus: MessageBus, world: World, uow_factory: UowFactory
) -> None:
    customer = _customer(bus)
    assert customer.id is not None
    bus.handle(SellTickets(customer_id=customer.id, product_id=world.water, quantity=10, price_fen=18000))
    bus.handle(PayBucketDeposit(customer_id=customer.id, quantity=2, amount_fen=6000))
    order = _place(bus, customer.id, world.water, 3, pay_with_tickets=True)
    assert order.id is not None
    bus.handle(TransitionOrder(order.id, OrderState.DELIVERING, by="wang"))
    delivered = bus.handle(TransitionOrder(order.id, OrderState.DELIVERED, empties_collected=1, by="wang"))
    assert isinstance(delivered, Order) and delivered.state is OrderState.DELIVERED
    other = _place(bus, customer.id, world.water, 4)
    assert other.id is not None
    bus.handle(CancelOrder(other.id, "客户改期", by="agent1"))
    with uow_factory() as uow:
        assert uow.tickets.account(customer.id, world.water, None).balance == 7
        buckets = uow.buckets.account(customer.id)
        assert (buckets.entitlement, buckets.held, buckets.debt) == (2, 2, 0)
        wang = uow.couriers.get(world.wang)
        assert wang is not None and (wang.load, wang.active_orders) == (0, 0)
        saved = uow.orders.get(order.id)
        assert saved is not None and saved.tickets_used == 3 and saved.empties_collected == 1
        assert [t.to_state for t in saved.transitions][-1] is OrderState.DELIVERED
        cancelled = uow.orders.get(other.id)
        assert cancelled is not None and cancelled.cancel_reason == "客户改期"
        assert [m.template for m in uow.outbox.search(order_id=other.id)][0] == "sms.order_cancelled"


def test_outbox_delivery_with_retry_and_the_log_sender(
    bus: MessageBus, world: World, uow_factory: UowFactory, clock: FakeClock, tmp_path: Path
) -> None:
    customer = _customer(bus)
    assert customer.id is not None
    order = _place(bus, customer.id, world.water, 1)
    down = FakeSmsSender(failures=1)
    report = deliver_due(uow_factory(), down, clock.now())
    assert (report.sent, report.retrying) == (0, 1)
    assert deliver_due(uow_factory(), down, clock.now()).attempted == 0  # backing off
    sender = LogSmsSender(tmp_path)
    report = deliver_due(uow_factory(), sender, clock.advance(60))
    assert report.sent == 1
    with uow_factory() as uow:
        [sms] = uow.outbox.search(order_id=order.id)
    assert sms.state is OutboxState.SENT and sms.attempts == 2
    [logged] = sender.entries()
    assert logged["id"] == sms.provider_message_id and logged["text"] == sms.text


def test_screen_pop_on_the_real_store(bus: MessageBus, world: World, uow_factory: UowFactory) -> None:
    customer = _customer(bus)
    assert customer.id is not None
    numbers = [_place(bus, customer.id, world.water, 1).number for _ in range(6)]
    pop = screen_pop(uow_factory(), "029 8888 1234")
    assert pop is not None and pop.customer.id == customer.id
    assert [o.number for o in pop.last_orders] == numbers[::-1][:5]
    assert pop.last_orders[0].items[0].quantity == 1  # loaded eagerly, readable after the session closed
    assert pop.buckets.held == 0 and pop.tickets == []
    assert screen_pop(uow_factory(), "13700000000") is None
