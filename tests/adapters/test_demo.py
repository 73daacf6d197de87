"""The demo data generator: realistic Shaanxi data that is internally consistent and loads once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import phonenumbers
import pytest
from phonenumbers import geocoder
from sqlalchemy.orm import Session, sessionmaker

from fakes import FakeStore
from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.adapters.db.users import UserRepository
from waterline.adapters.demo import (
    DEMO_HOTLINE,
    DEMO_HOTLINE_QUEUE,
    DemoSummary,
    call_centre,
    demo_agent_logins,
    generate,
    load_demo_data,
)
from waterline.calls.flow import QueueNode
from waterline.calls.queue import OverflowQueue
from waterline.calls.shipped import DEFAULT, shipped_flow
from waterline.domain import buckets, phones, tickets
from waterline.domain.orders import OPEN_STATES, WITH_COURIER, OrderState, can_transition, parse_order_number
from waterline.domain.outbox import OutboxState
from waterline.domain.phones import PhoneKind
from waterline.domain.users import Role

NOW = datetime(2026, 11, 25, 6, 30, tzinfo=UTC)  # 14:30 in Xi'an


@pytest.fixture(scope="module")
def demo() -> tuple[FakeStore, DemoSummary]:
    store = FakeStore()
    # small on purpose: the fake store copies itself on every unit of work
    summary = generate(store.uow, now=NOW, customers=40, days=4, courier_user_id=77)
    return store, summary


def test_stations_are_in_xian_xianyang_and_baoji_at_shaanxi_coordinates(
    demo: tuple[FakeStore, DemoSummary],
) -> None:
    store, _ = demo
    stations = list(store.data.stations.values())
    cities = Counter(s.city for s in stations)
    assert set(cities) == {"西安市", "咸阳市", "宝鸡市"}
    assert len({s.district for s in stations if s.city == "西安市"}) >= 4
    for station in stations:
        assert 33.0 < station.lat < 35.0 and 106.5 < station.lon < 110.0, station.name
        assert station.district in station.service_districts
        assert phones.normalise(station.phone) == station.phone
    baoji = next(s for s in stations if s.city == "宝鸡市")
    assert baoji.phone.startswith("0917") and 107.0 < baoji.lon < 107.5


def test_every_station_has_couriers_and_the_demo_login_is_linked_once(
    demo: tuple[FakeStore, DemoSummary],
) -> None:
    store, _ = demo
    couriers = list(store.data.couriers.values())
    assert {c.station_id for c in couriers} == set(store.data.stations)
    assert [c.name for c in couriers if c.user_id == 77] == ["赵强"]
    for courier in couriers:
        assert phones.kind(courier.mobile) is PhoneKind.MOBILE


def test_customer_phones_are_unique_valid_shaanxi_numbers(demo: tuple[FakeStore, DemoSummary]) -> None:
    store, summary = demo
    customers = list(store.data.customers.values())
    assert len(customers) == summary.customers == 40
    numbers = [n for c in customers for n in c.phone_numbers]
    assert len(numbers) == len(set(numbers))
    for number in numbers:
        assert phones.normalise(number) == number
        if phones.kind(number) is PhoneKind.LANDLINE:
            assert number.startswith(("029", "0917"))
        else:
            place = geocoder.description_for_number(phonenumbers.parse(number, "CN"), "zh")
            assert place.startswith("陕西省"), (number, place)
    for customer in customers:
        address = customer.default_address()
        assert address is not None and address.lat is not None
        assert address.city in ("西安市", "咸阳市", "宝鸡市")


def test_order_history_follows_the_state_machine(demo: tuple[FakeStore, DemoSummary]) -> None:
    store, summary = demo
    orders = list(store.data.orders.values())
    assert len(orders) == summary.orders > 20
    states = Counter(o.state for o in orders)
    assert states[OrderState.CLOSED] > 0
    assert any(o.state in OPEN_STATES for o in orders)  # today's board is not empty
    assert sum(states.values()) == sum(summary.orders_by_state.values())
    for order in orders:
        parse_order_number(order.number)
        records = order.transitions
        assert records[0].from_state is None and records[0].to_state is OrderState.PLACED
        for before, after in zip(records, records[1:], strict=False):
            assert after.from_state is before.to_state
            assert can_transition(before.to_state, after.to_state)
            assert after.at >= before.at
        assert records[-1].to_state is order.state
        assert order.placed_at <= NOW
        if order.state in WITH_COURIER:
            assert order.courier_id is not None and order.station_id is not None


def test_order_numbers_are_unique_and_daily_sequences_start_at_one(
    demo: tuple[FakeStore, DemoSummary],
) -> None:
    store, _ = demo
    numbers = [o.number for o in store.data.orders.values()]
    assert len(numbers) == len(set(numbers))
    per_day: dict[object, list[int]] = {}
    for number in numbers:
        _, day, seq = parse_order_number(number)
        per_day.setdefault(day, []).append(seq)
    for seqs in per_day.values():
        assert sorted(seqs) == list(range(1, len(seqs) + 1))


def test_courier_loads_match_their_open_orders(demo: tuple[FakeStore, DemoSummary]) -> None:
    store, _ = demo
    for courier in store.data.couriers.values():
        mine = [
            o for o in store.data.orders.values() if o.courier_id == courier.id and o.state in WITH_COURIER
        ]
        assert courier.active_orders == len(mine), courier.name
        assert courier.load == sum(o.units for o in mine), courier.name
    zhao = next(c for c in store.data.couriers.values() if c.user_id == 77)
    assert zhao.active_orders >= 2


def test_ticket_and_bucket_ledgers_replay_to_non_negative_balances(
    demo: tuple[FakeStore, DemoSummary],
) -> None:
    store, summary = demo
    accounts: dict[tuple[int, int, int | None], list[tickets.TicketEntry]] = {}
    for entry in store.data.ticket_entries:
        accounts.setdefault((entry.customer_id, entry.product_id, entry.station_id), []).append(entry)
    assert summary.ticket_sales > 0
    for (customer_id, product_id, station_id), entries in accounts.items():
        assert tickets.replay(customer_id, product_id, station_id, entries).balance >= 0
    delivered_tickets = sum(o.tickets_used for o in store.data.orders.values())
    consumed = -sum(
        e.quantity for e in store.data.ticket_entries if e.kind is tickets.TicketEntryKind.CONSUMPTION
    )
    assert consumed == delivered_tickets > 0
    by_customer: dict[int, list[buckets.BucketEntry]] = {}
    for bucket_entry in store.data.bucket_entries:
        by_customer.setdefault(bucket_entry.customer_id, []).append(bucket_entry)
    assert len(by_customer) == summary.customers  # everybody paid a deposit
    for customer_id, entries in by_customer.items():
        account = buckets.replay(customer_id, entries)
        assert account.held >= 0 and account.entitlement > 0


def test_old_sms_are_settled_and_carry_the_demo_hotline(demo: tuple[FakeStore, DemoSummary]) -> None:
    store, _ = demo
    messages = list(store.data.outbox.values())
    assert messages
    assert all(DEMO_HOTLINE in m.text for m in messages)
    today = [m for m in messages if m.created_at.date() == NOW.date()]
    older = [m for m in messages if m.created_at < datetime(2026, 11, 24, 16, 0, tzinfo=UTC)]
    assert older and all(m.state is OutboxState.SENT for m in older)
    assert any(m.state is OutboxState.PENDING for m in today)


def test_loading_again_into_a_filled_store_does_nothing(demo: tuple[FakeStore, DemoSummary]) -> None:
    store, _ = demo
    before = (len(store.data.customers), len(store.data.orders), store.commits)
    again = generate(store.uow, now=NOW, customers=40, days=4)
    assert again.skipped and "not loaded" in str(again)
    assert (len(store.data.customers), len(store.data.orders), store.commits) == before


def test_the_same_seed_gives_the_same_customers() -> None:
    first, second = FakeStore(), FakeStore()
    generate(first.uow, now=NOW, customers=8, days=0)
    generate(second.uow, now=NOW, customers=8, days=0)
    names = [(c.name, c.phone_numbers) for c in first.data.customers.values()]
    assert names == [(c.name, c.phone_numbers) for c in second.data.customers.values()]


def test_load_demo_data_into_a_migrated_store_links_the_courier_login(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session:
        login = UserRepository(session).add("courier", Role.COURIER, "courier123", now=NOW)
        session.commit()

    summary = load_demo_data(session_factory, now=NOW, customers=12, days=2)
    again = load_demo_data(session_factory, now=NOW, customers=12, days=2)

    assert not summary.skipped and summary.customers == 12 and summary.orders > 0
    assert again.skipped
    uow = SqlAlchemyUnitOfWork(session_factory)
    with uow:
        courier = uow.couriers.find_by_user(login.id)
        assert courier is not None and courier.name == "赵强"
        assert courier.active_orders >= 2
        assert len(uow.customers.search(limit=100)) == 12
        pop = uow.customers.search(limit=1)[0]
        assert pop.addresses and pop.phones


def test_the_hotline_answers_with_the_shipped_default_flow(demo: tuple[FakeStore, DemoSummary]) -> None:
    store, _ = demo
    hotline = phones.normalise(DEMO_HOTLINE)
    routes = {did: route.flow_name for did, route in store.data.routes.items()}
    assert routes == {hotline: "default"}
    assert {"default", "bench-play", "bench-record", "bench-ivr"} <= set(store.data.flows)
    assert all(summary.current_version == 1 for summary in store.data.flows.values())
    # a second load (the store is not empty) changes no flow
    generate(store.uow, now=NOW, customers=40, days=4)
    assert len(store.data.flow_versions) == len(store.data.flows)


def test_call_centre_on_fakes_gives_every_station_an_orders_queue() -> None:
    store = FakeStore()
    generate(store.uow, now=NOW, customers=5, days=1)
    with store.uow() as uow:
        stations = len(uow.stations.all())
    for username, display_name, _mobile in demo_agent_logins(stations):
        store.add_agent(username, display_name)
    assert call_centre(store.uow, now=NOW) == stations
    assert call_centre(store.uow, now=NOW) == 0  # idempotent
    with store.uow() as uow:
        queues = uow.queues.all()
        assert len(queues) == stations and {q.purpose.value for q in queues} == {"orders"}
        first = next(q for q in queues if q.station_id == min(q.station_id for q in queues))
        # the shipped default flow's 人工服务 names this queue
        shipped = {n.queue for n in shipped_flow(DEFAULT).nodes.values() if isinstance(n, QueueNode)}
        assert first.config.name == DEMO_HOTLINE_QUEUE and shipped == {DEMO_HOTLINE_QUEUE}
        assert [(m.agent, m.tier) for m in first.members] == [("kefu01", 0), ("kefu02", 1)]
        assert first.config.overflow[0] == OverflowQueue("orders-02")
        kefu01 = uow.agents.by_username("kefu01")
        assert kefu01 is not None
        assert [c.kind.value for c in uow.agents.contacts(kefu01.user_id)] == ["sip", "mobile"]


def test_load_demo_data_creates_station_agents_and_queues(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        UserRepository(session).add("agent", Role.AGENT, "agent123", now=NOW, sip_password="agent123")
        session.commit()
    load_demo_data(session_factory, now=NOW, customers=5, days=1)
    uow = SqlAlchemyUnitOfWork(session_factory)
    with uow:
        queues = uow.queues.all()
        assert len(queues) == len(uow.stations.all())
        assert ("agent", 0) in [(m.agent, m.tier) for m in queues[0].members]
        agents = [a.username for a in uow.agents.statuses()]
        assert agents[0] == "agent" and "kefu01" in agents
    with session_factory() as session:
        assert UserRepository(session).sip_credentials("kefu01") is not None
