from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from fakes import FakeClock, FakeSmsSender, World, seed_world
from waterline.adapters.db.orm import order_sequences_table, orders_table, outbox_table
from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork, UnitOfWorkNotEntered
from waterline.adapters.sms.log import LogSmsSender
from waterline.domain.buckets import BucketAccount
from waterline.domain.commands import (
    AddressInput,
    CancelOrder,
    CreateCustomer,
    EnterpriseInput,
    PayBucketDeposit,
    PlaceOrder,
    PreferencesInput,
    SellTickets,
    TransitionOrder,
)
from waterline.domain.customers import Customer, Tier
from waterline.domain.errors import Conflict, NotFound, TicketOverdraw
from waterline.domain.events import CustomerCreated, OrderPlaced
from waterline.domain.orders import Channel, ItemRequest, Order, OrderState
from waterline.domain.outbox import OutboxState
from waterline.services.bus import MessageBus
from waterline.services.context import Dependencies
from waterline.services.outbox import deliver_due
from waterline.services.queries import ScreenPop, screen_pop

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


# ---------------------------------------------------------------- the screen-pop read path


def _repository_screen_pop(uow_factory: UowFactory, number: str) -> ScreenPop:
    """What the screen-pop is, assembled the slow way through the ORM repositories (without the orders'
    transitions, which the read path does not load)."""
    with uow_factory() as uow:
        customer = uow.customers.find_by_phone(number)
        assert customer is not None and customer.id is not None
        pop = ScreenPop(
            customer=customer,
            last_orders=uow.orders.recent_for_customer(customer.id, 5),
            tickets=uow.tickets.accounts(customer.id),
            buckets=uow.buckets.account(customer.id),
        )
    for order in pop.last_orders:  # detached now, so this changes nothing in the database
        assert order.transitions  # the repositories load them; the read path leaves them out
        order.transitions = []
    return pop


def test_screen_pop_read_path_equals_the_repositories(
    bus: MessageBus, world: World, uow_factory: UowFactory, clock: FakeClock
) -> None:
    customer = bus.handle(
        CreateCustomer(
            name="西安某某科技有限公司",
            phones=("029-8888 1234", "13991234567", "13700001111"),
            addresses=(
                AddressInput("西安市", "雁塔区", "科技路 10 号", floor=3, has_elevator=True),
                AddressInput("西安市", "未央区", "凤城八路 99 号", station_override_id=world.weiyang),
            ),
            tier=Tier.ENTERPRISE,
            tags=("月结", "学校"),
            notes="前台代收",
            preferences=PreferencesInput(world.water, 4),
            enterprise=EnterpriseInput("西安某某科技有限公司", 500_000, 30, "91610000"),
        )
    )
    assert isinstance(customer, Customer) and customer.id is not None
    cid = customer.id
    bus.handle(SellTickets(cid, world.water, quantity=10, price_fen=18000))
    bus.handle(SellTickets(cid, world.water, quantity=5, price_fen=9000, station_id=world.yanta))
    bus.handle(SellTickets(cid, world.other_water, quantity=3, price_fen=5400))
    bus.handle(PayBucketDeposit(cid, quantity=2, amount_fen=6000))
    orders = []
    for n in range(7):
        clock.advance(600)
        items = [ItemRequest(world.water, 1 + n % 3)]
        if n == 5:
            items.append(ItemRequest(world.dispenser, 1))
        order = bus.handle(PlaceOrder(customer_id=cid, items=tuple(items)))
        assert isinstance(order, Order) and order.id is not None
        orders.append(order)
    assert orders[-1].id is not None and orders[-2].id is not None
    for to in (OrderState.DELIVERING, OrderState.DELIVERED):
        bus.handle(TransitionOrder(orders[-1].id, to, empties_collected=1))
    bus.handle(CancelOrder(orders[-2].id, "客户改约"))

    with uow_factory() as uow:
        fast = uow.read_screen_pop("13991234567", 5)
    slow = _repository_screen_pop(uow_factory, "13991234567")
    assert fast is not None
    # the parts a wrong join would break, spelled out so a failure says which
    assert fast.customer.phone_numbers == ["02988881234", "13991234567", "13700001111"]
    assert [a.district for a in fast.customer.addresses] == ["雁塔区", "未央区"]
    assert fast.customer.enterprise == slow.customer.enterprise and fast.customer.enterprise is not None
    assert [o.number for o in fast.last_orders] == [o.number for o in orders[::-1][:5]]
    assert [len(o.items) for o in fast.last_orders] == [1, 2, 1, 1, 1]
    assert fast.last_orders[0].state is OrderState.DELIVERED and fast.last_orders[0].empties_collected == 1
    cancelled = fast.last_orders[1]
    assert (cancelled.state, cancelled.cancel_reason) == (OrderState.CANCELLED, "客户改约")
    assert [(t.product_id, t.station_id) for t in fast.tickets] == [
        (world.water, None),
        (world.water, world.yanta),
        (world.other_water, None),
    ]
    assert (fast.buckets.entitlement, fast.buckets.held) == (2, slow.buckets.held)
    assert fast == slow


def test_screen_pop_read_path_of_a_new_customer(bus: MessageBus, uow_factory: UowFactory) -> None:
    customer = _customer(bus)
    with uow_factory() as uow:
        pop = uow.read_screen_pop("02988881234", 5)
        assert uow.read_screen_pop("13700000000", 5) is None
    assert pop is not None and pop.customer.id == customer.id
    assert (pop.last_orders, pop.tickets, pop.buckets) == ([], [], BucketAccount(customer_id=pop.customer.id))
    assert pop == _repository_screen_pop(uow_factory, "02988881234")


def test_screen_pop_on_the_store_takes_four_statements(
    bus: MessageBus, world: World, uow_factory: UowFactory, db_engine: Engine
) -> None:
    customer = _customer(bus)
    assert customer.id is not None
    _place(bus, customer.id, world.water, 1)
    bus.handle(SellTickets(customer.id, world.water, quantity=10, price_fen=18000))
    sent: list[str] = []
    event.listen(db_engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    pop = screen_pop(uow_factory(), "13991234567")
    assert pop is not None and len(pop.last_orders) == 1 and len(pop.tickets) == 1
    # customer+phones+enterprise+buckets, addresses, orders+items, tickets
    assert len(sent) == 4 and all(s.lstrip().upper().startswith("SELECT") for s in sent)


def test_concurrent_placements_neither_lose_a_courier_load_nor_overfill_him(
    bus: MessageBus, world: World, uow_factory: UowFactory
) -> None:
    customer = _customer(bus)
    assert customer.id is not None
    customer_id = customer.id
    placed: list[Order] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def place_some() -> None:
        try:
            for _ in range(5):
                order = _place(bus, customer_id, world.water, 2)
                with lock:
                    placed.append(order)
        except BaseException as exc:  # report in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=place_some) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and len(placed) == 20
    # 王师傅 has room for 20 units, 李师傅 for 6 (10 with 4 loaded): 13 orders of 2 fit, the rest wait
    by_courier = {world.wang: 0, world.li: 0}
    for order in placed:
        if order.courier_id is not None:
            by_courier[order.courier_id] += 1
    assert by_courier == {world.wang: 10, world.li: 3}
    with uow_factory() as uow:
        wang, li = uow.couriers.get(world.wang), uow.couriers.get(world.li)
        assert wang is not None and (wang.load, wang.active_orders) == (20, 10)
        assert li is not None and (li.load, li.active_orders) == (10, 3)
    assert sorted(o.number for o in placed) == [f"SX20261125-{n:04d}" for n in range(1, 21)]
