from datetime import date, time, timedelta

import pytest

from fakes import FakeClock, FakeStore, World
from waterline.domain.commands import (
    AddressInput,
    AdjustTickets,
    CancelOrder,
    CreateCustomer,
    DispatchOrder,
    PayBucketDeposit,
    PlaceOrder,
    ReassignOrder,
    RefundBucketDeposit,
    SellTickets,
    TransitionOrder,
    UpdateCustomer,
)
from waterline.domain.customers import Customer
from waterline.domain.errors import Conflict, IllegalTransition, InvalidInput, NotFound, TicketOverdraw
from waterline.domain.events import (
    CourierAssigned,
    Event,
    OrderAwaitingCourier,
    OrderDispatched,
    OrderPlaced,
    OrderStateChanged,
)
from waterline.domain.hours import HOLIDAY_WEEKDAY, DayInfo, DaySource, weekday_rule
from waterline.domain.orders import SHANGHAI, Channel, ItemRequest, Order, OrderState
from waterline.domain.outbox import sms_segments
from waterline.domain.stations import OpeningHours
from waterline.services.bus import MessageBus
from waterline.services.context import Dependencies, ServiceSettings

DAYAN_TOWER = AddressInput(
    "西安市", "雁塔区", "大雁塔北广场 3 号楼 2 单元 501", floor=5, lat=34.2197, lon=108.9640
)


def _customer(bus: MessageBus, *phones: str) -> Customer:
    phones = phones or ("13991234567", "029-8888 1234")
    command = CreateCustomer(name="张先生", phones=phones, addresses=(DAYAN_TOWER,))
    customer = bus.handle(command)
    assert isinstance(customer, Customer)
    return customer


def _place(bus: MessageBus, customer: Customer, product: int, qty: int = 2, **kwargs: object) -> Order:
    assert customer.id is not None
    order = bus.handle(PlaceOrder(customer_id=customer.id, items=(ItemRequest(product, qty),), **kwargs))  # type: ignore[arg-type]
    assert isinstance(order, Order)
    return order


def _collect(bus: MessageBus) -> list[Event]:
    seen: list[Event] = []
    for kind in (OrderPlaced, OrderDispatched, CourierAssigned, OrderAwaitingCourier, OrderStateChanged):
        bus.subscribe(kind, lambda event, uow, deps: seen.append(event))
    return seen


def test_place_order_dispatches_and_writes_sms_in_the_same_commit(
    bus: MessageBus, store: FakeStore, world: World, clock: FakeClock
) -> None:
    customer = _customer(bus)
    events = _collect(bus)
    commits = store.commits
    order = _place(bus, customer, world.water, 2, channel=Channel.IVR)
    assert store.commits == commits + 1  # order, dispatch, courier load and SMS: one transaction
    saved = store.data.orders[order.id or 0]
    assert saved.number == "SX20261125-0001"
    assert saved.state is OrderState.DISPATCHED
    assert (saved.station_id, saved.courier_id) == (world.yanta, world.wang)  # 王 has the lighter load
    assert saved.eta is not None and timedelta(0) < saved.eta - clock.now() < timedelta(minutes=40)
    assert saved.total_fen == 4000 and saved.channel is Channel.IVR
    assert [t.to_state for t in saved.transitions] == [OrderState.PLACED, OrderState.DISPATCHED]
    assert saved.transitions[1].by == "system"
    assert store.data.couriers[world.wang].load == 2
    [sms] = store.data.outbox.values()
    assert sms.to == "13991234567" and sms.order_id == order.id
    eta_local = saved.eta.astimezone(SHANGHAI).strftime("%H:%M")
    for part in ("SX20261125-0001", "王师傅", "13991110001", eta_local, "400-636-0888"):
        assert part in sms.text
    assert sms.segments == sms_segments(sms.text)
    assert [type(e) for e in events] == [OrderPlaced, OrderStateChanged, OrderDispatched, CourierAssigned]


def test_order_numbers_count_per_shanghai_day(bus: MessageBus, world: World, clock: FakeClock) -> None:
    customer = _customer(bus)
    numbers = [_place(bus, customer, world.water, 1).number for _ in range(3)]
    clock.current = clock.current.replace(hour=16, minute=30)  # 00:30 next day in Xi'an
    numbers.append(_place(bus, customer, world.water, 1).number)
    assert numbers == ["SX20261125-0001", "SX20261125-0002", "SX20261125-0003", "SX20261126-0001"]


def test_failed_order_leaves_nothing_half_written(bus: MessageBus, store: FakeStore, world: World) -> None:
    customer = _customer(bus)
    before = store.data
    commits = store.commits
    with pytest.raises(TicketOverdraw):
        _place(bus, customer, world.water, 2, pay_with_tickets=True)  # no tickets sold yet
    with pytest.raises(NotFound):
        _place(bus, customer, 9999, 1)
    with pytest.raises(InvalidInput) as info:
        _place(bus, customer, world.retired, 1)
    assert info.value.code == "product.inactive"
    with pytest.raises(InvalidInput):
        _place(bus, customer, world.water, 0)
    assert store.commits == commits and store.data is before
    assert not store.data.orders and not store.data.outbox and not store.data.sequences
    assert store.data.couriers[world.wang].load == 0
    # and the failed attempts did not consume order numbers
    assert _place(bus, customer, world.water, 1).number.endswith("-0001")


def test_manual_dispatch_mode(store: FakeStore, world: World, clock: FakeClock) -> None:
    bus = MessageBus(store.uow, Dependencies(clock=clock, settings=ServiceSettings(auto_dispatch=False)))
    customer = _customer(bus)
    order = _place(bus, customer, world.water, 2)
    assert order.state is OrderState.PLACED and order.courier_id is None
    [ack] = store.data.outbox.values()
    assert "已受理" in ack.text
    dispatched = bus.handle(DispatchOrder(order.id or 0, courier_id=world.li, by="8"))
    assert (dispatched.state, dispatched.courier_id, dispatched.station_id) == (
        OrderState.DISPATCHED,
        world.li,
        world.yanta,
    )
    assert dispatched.transitions[-1].by == "8"
    assert any("李师傅" in m.text for m in store.data.outbox.values())
    with pytest.raises(IllegalTransition):
        bus.handle(DispatchOrder(order.id or 0))


def test_reassign_moves_the_load_and_tells_the_customer(
    bus: MessageBus, store: FakeStore, world: World
) -> None:
    customer = _customer(bus)
    order = _place(bus, customer, world.water, 2)
    assert order.courier_id == world.wang and store.data.couriers[world.wang].load == 2
    events = _collect(bus)
    sms_before = len(store.data.outbox)
    moved = bus.handle(ReassignOrder(order.id or 0, courier_id=world.zhao, by="8"))
    assert (moved.state, moved.courier_id, moved.station_id) == (
        OrderState.DISPATCHED, world.zhao, world.weiyang,
    )
    assert store.data.couriers[world.wang].load == 0 and store.data.couriers[world.zhao].load == 2
    last = moved.transitions[-1]
    assert (last.from_state, last.to_state, last.by) == (OrderState.DISPATCHED, OrderState.DISPATCHED, "8")
    assert "王师傅" in last.reason and "赵师傅" in last.reason
    assert [type(e) for e in events] == [OrderStateChanged, OrderDispatched, CourierAssigned]
    assert len(store.data.outbox) == sms_before + 1
    assert any("赵师傅" in m.text for m in store.data.outbox.values())


def test_reassign_refused_unless_dispatched_to_someone_else(
    bus: MessageBus, store: FakeStore, world: World
) -> None:
    customer = _customer(bus)
    order = _place(bus, customer, world.water, 2)
    with pytest.raises(IllegalTransition):
        bus.handle(ReassignOrder(order.id or 0, courier_id=world.wang))  # he has it already
    bus.handle(TransitionOrder(order.id or 0, OrderState.DELIVERING))
    with pytest.raises(IllegalTransition):
        bus.handle(ReassignOrder(order.id or 0, courier_id=world.li))
    assert store.data.orders[order.id or 0].courier_id == world.wang
    assert store.data.couriers[world.li].load == 4


def test_no_courier_with_room_keeps_order_placed_at_station(
    bus: MessageBus, store: FakeStore, world: World
) -> None:
    customer = _customer(bus)
    events = _collect(bus)
    order = _place(bus, customer, world.water, 25)  # more than any trip carries
    assert order.state is OrderState.PLACED and order.station_id == world.yanta and order.courier_id is None
    assert [type(e) for e in events] == [OrderPlaced, OrderAwaitingCourier]
    with pytest.raises(InvalidInput):
        bus.handle(DispatchOrder(order.id or 0))


def test_delivery_spends_tickets_and_books_buckets(bus: MessageBus, store: FakeStore, world: World) -> None:
    customer = _customer(bus)
    cid = customer.id or 0
    bus.handle(SellTickets(cid, world.water, quantity=22, price_fen=36000, note="20送2"))
    bus.handle(PayBucketDeposit(cid, quantity=1, amount_fen=3000))
    order = _place(bus, customer, world.water, 3, pay_with_tickets=True)
    assert order.due_fen == 0
    bus.handle(TransitionOrder(order.id or 0, OrderState.DELIVERING, by="courier"))
    delivered = bus.handle(
        TransitionOrder(order.id or 0, OrderState.DELIVERED, empties_collected=1, by="courier")
    )
    assert delivered.state is OrderState.DELIVERED and delivered.tickets_used == 3
    with store.uow() as uow:
        assert uow.tickets.account(cid, world.water, None).balance == 19
        buckets = uow.buckets.account(cid)
    assert (buckets.held, buckets.entitlement, buckets.debt) == (2, 1, 1)
    assert store.data.couriers[world.wang].load == 0
    kinds = [e.kind.value for e in store.data.ticket_entries]
    assert kinds == ["sale", "consumption"]
    bus.handle(TransitionOrder(order.id or 0, OrderState.CLOSED))
    assert store.data.orders[order.id or 0].state is OrderState.CLOSED


def test_delivery_overdraw_refused_and_order_unchanged(
    bus: MessageBus, store: FakeStore, world: World
) -> None:
    customer = _customer(bus)
    cid = customer.id or 0
    bus.handle(SellTickets(cid, world.water, quantity=2, price_fen=3600))
    order = _place(bus, customer, world.water, 2, pay_with_tickets=True)
    bus.handle(AdjustTickets(cid, world.water, delta=-1, reason="补录上次送水"))
    bus.handle(TransitionOrder(order.id or 0, OrderState.DELIVERING))
    entries_before = list(store.data.ticket_entries)
    with pytest.raises(TicketOverdraw):
        bus.handle(TransitionOrder(order.id or 0, OrderState.DELIVERED))
    assert store.data.orders[order.id or 0].state is OrderState.DELIVERING
    assert store.data.ticket_entries == entries_before and not store.data.bucket_entries


def test_station_tickets_spent_before_general_ones(bus: MessageBus, store: FakeStore, world: World) -> None:
    customer = _customer(bus)
    cid = customer.id or 0
    bus.handle(SellTickets(cid, world.water, quantity=1, price_fen=1800, station_id=world.yanta))
    bus.handle(SellTickets(cid, world.water, quantity=5, price_fen=9000))
    order = _place(bus, customer, world.water, 2, pay_with_tickets=True)
    bus.handle(TransitionOrder(order.id or 0, OrderState.DELIVERING))
    bus.handle(TransitionOrder(order.id or 0, OrderState.DELIVERED))
    with store.uow() as uow:
        balances = {(a.station_id, a.balance) for a in uow.tickets.accounts(cid)}
    assert balances == {(world.yanta, 0), (None, 4)}


def test_cancel_frees_courier_and_tells_customer(bus: MessageBus, store: FakeStore, world: World) -> None:
    customer = _customer(bus)
    order = _place(bus, customer, world.water, 2)
    assert store.data.couriers[world.wang].load == 2
    with pytest.raises(InvalidInput):
        bus.handle(CancelOrder(order.id or 0, reason=" "))
    cancelled = bus.handle(
        TransitionOrder(order.id or 0, OrderState.CANCELLED, reason="客户改约明天", by="7")
    )
    assert cancelled.state is OrderState.CANCELLED and cancelled.cancel_reason == "客户改约明天"
    assert store.data.couriers[world.wang].load == 0
    assert any("已取消" in m.text for m in store.data.outbox.values())
    with pytest.raises(IllegalTransition):
        bus.handle(TransitionOrder(order.id or 0, OrderState.DELIVERING))


def test_cancel_refused_once_delivering(bus: MessageBus, store: FakeStore, world: World) -> None:
    order = _place(bus, _customer(bus), world.water, 1)
    bus.handle(TransitionOrder(order.id or 0, OrderState.DELIVERING))
    with pytest.raises(IllegalTransition) as info:
        bus.handle(CancelOrder(order.id or 0, reason="late"))
    assert info.value.code == "order.illegal_transition"
    assert store.data.orders[order.id or 0].state is OrderState.DELIVERING


def test_orders_refuse_unknown_customer_and_foreign_address(bus: MessageBus, world: World) -> None:
    with pytest.raises(NotFound):
        bus.handle(PlaceOrder(customer_id=9999, items=(ItemRequest(world.water, 1),)))
    customer = _customer(bus)
    other = _customer(bus, "13700000001")
    with pytest.raises(InvalidInput) as info:
        bus.handle(
            PlaceOrder(
                customer_id=customer.id or 0,
                items=(ItemRequest(world.water, 1),),
                address_id=other.addresses[0].id,
            )
        )
    assert info.value.code == "address.not_of_customer"


def test_create_customer_validates_and_refuses_duplicate_phones(bus: MessageBus, store: FakeStore) -> None:
    customer = _customer(bus)
    assert customer.phone_numbers == ["13991234567", "02988881234"]
    assert customer.addresses[0].id is not None and customer.addresses[0].is_default
    with pytest.raises(Conflict) as info:
        bus.handle(CreateCustomer(name="李女士", phones=("139-9123-4567",)))
    assert info.value.code == "phone.duplicate"
    with pytest.raises(InvalidInput):
        bus.handle(
            CreateCustomer(
                name="李女士", phones=("13700000002",), addresses=(AddressInput("西安", "火星", "x"),)
            )
        )
    with pytest.raises(InvalidInput):
        bus.handle(CreateCustomer(name="李女士", phones=("12345",)))
    assert len(store.data.customers) == 1


def test_update_customer(bus: MessageBus, store: FakeStore) -> None:
    customer = _customer(bus)
    other = _customer(bus, "13700000001")
    updated = bus.handle(
        UpdateCustomer(
            customer.id or 0,
            add_phones=("13800000000",),
            remove_phones=("029-8888 1234",),
            add_addresses=(AddressInput("咸阳", "秦都", "人民路 8 号", is_default=True),),
            notes="下午送",
        )
    )
    assert updated.phone_numbers == ["13991234567", "13800000000"]
    assert updated.default_address().district == "秦都区" and updated.default_address().id is not None
    assert store.data.customers[customer.id or 0].notes == "下午送"
    with pytest.raises(Conflict):
        bus.handle(UpdateCustomer(customer.id or 0, add_phones=(other.phone_numbers[0],)))
    with pytest.raises(InvalidInput):
        bus.handle(UpdateCustomer(customer.id or 0, remove_phones=("13991234567", "13800000000")))


def test_bucket_deposit_and_refund(bus: MessageBus, store: FakeStore) -> None:
    cid = _customer(bus).id or 0
    bus.handle(PayBucketDeposit(cid, 2, 6000))
    entry = bus.handle(RefundBucketDeposit(cid, 1, 3000))
    assert (entry.entitlement_after, entry.amount_fen) == (1, -3000)
    with pytest.raises(InvalidInput):
        bus.handle(RefundBucketDeposit(cid, 5, 3000))
    assert len(store.data.bucket_entries) == 2


class _HolidayToday:
    """A working calendar in which the fake clock's day (2026-11-25) is a public holiday."""

    def day(self, day: date) -> DayInfo:
        if day == date(2026, 11, 25):
            return DayInfo(day, workday=False, holiday=True, source=DaySource.OVERRIDE)
        return weekday_rule(day)


def test_dispatch_follows_the_working_calendar_when_one_is_given(
    store: FakeStore, world: World, clock: FakeClock
) -> None:
    # 雁塔 opens daily 07-21 but only 14-18 on public holidays; at 10:00 on a holiday it is closed
    yanta = store.data.stations[world.yanta]
    yanta.hours = [*yanta.hours, OpeningHours(HOLIDAY_WEEKDAY, time(14, 0), time(18, 0))]
    weekly = MessageBus(store.uow, Dependencies(clock=clock))
    asked: list[object] = []

    def calendar(uow: object) -> _HolidayToday:
        asked.append(uow)
        return _HolidayToday()

    aware = MessageBus(store.uow, Dependencies(clock=clock, calendar=calendar))
    customer = _customer(weekly)
    assert _place(weekly, customer, world.water, 1).station_id == world.yanta  # weekly hours only
    order = _place(aware, customer, world.water, 1)
    assert asked and order.station_id != world.yanta and order.station_id == world.weiyang
    clock.current = clock.current.replace(hour=7)  # 15:00 in Xi'an: holiday hours open 雁塔 again
    assert _place(aware, customer, world.water, 1).station_id == world.yanta
