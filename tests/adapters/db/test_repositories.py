from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.adapters.db.users import UserRepository
from waterline.domain.buckets import BucketAccount
from waterline.domain.customers import EnterpriseAccount, Preferences, Tier, new_address, new_customer
from waterline.domain.errors import Conflict
from waterline.domain.orders import Channel, Order, OrderItem, OrderState, new_order
from waterline.domain.outbox import OutboxState, RetryPolicy, new_sms
from waterline.domain.products import Product, ProductKind
from waterline.domain.stations import OpeningHours
from waterline.domain.tickets import TicketAccount, TicketEntryKind
from waterline.domain.users import Role
from waterline.services.ports import OrderFilter

from .conftest import courier_of, water, yanta_station, zhang

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _ids(*values: int | None) -> tuple[int, ...]:
    assert all(v is not None for v in values)
    return tuple(v for v in values if v is not None)


# ---------------------------------------------------------------- customers


def test_customer_round_trip_with_everything(uow: SqlAlchemyUnitOfWork) -> None:
    with uow:
        product = uow.products.add(water())
        station = uow.stations.add(yanta_station())
        customer = new_customer("西安某某科技有限公司", ["029-8888 1234", "+86 139 1234 5678"])
        customer.add_address(new_address("西安市", "雁塔区", "科技路 10 号", floor=3, has_elevator=True))
        customer.add_address(
            new_address(
                "西安市", "未央区", "凤城八路 99 号", lat=34.33, lon=108.94, station_override_id=station.id
            )
        )
        customer.tier = Tier.ENTERPRISE
        customer.tags = ["月结", "学校"]
        customer.notes = "前台代收"
        customer.preferences = Preferences(product.id, 4, time(9, 0), time(11, 30))
        customer.enterprise = EnterpriseAccount("西安某某科技有限公司", 500_000, 30, "91610000")
        uow.customers.add(customer)
        assert customer.id is not None
        assert all(p.id is not None for p in customer.phones)
        assert all(a.id is not None for a in customer.addresses)
        uow.commit()
        customer_id = customer.id
    with uow:
        loaded = uow.customers.get(customer_id)
        assert loaded is not None
        assert loaded.phone_numbers == ["02988881234", "13912345678"]
        assert [a.district for a in loaded.addresses] == ["雁塔区", "未央区"]
        assert loaded.default_address() is not None and loaded.default_address().detail == "科技路 10 号"  # type: ignore[union-attr]
        assert loaded.addresses[0].has_elevator and loaded.addresses[0].floor == 3
        assert loaded.addresses[1].station_override_id == station.id
        assert loaded.addresses[1].coordinates() == (34.33, 108.94)
        assert loaded.tier is Tier.ENTERPRISE
        assert loaded.tags == ["月结", "学校"]
        assert loaded.preferences == Preferences(product.id, 4, time(9, 0), time(11, 30))
        assert loaded.enterprise == EnterpriseAccount("西安某某科技有限公司", 500_000, 30, "91610000")
        assert loaded.notes == "前台代收"
    assert loaded.phones[0].number == "02988881234"  # still readable after the block closed the session


def test_find_by_phone(uow: SqlAlchemyUnitOfWork) -> None:
    with uow:
        uow.customers.add(zhang("13912345678"))
        other = uow.customers.add(new_customer("李娜", ["13800000001", "0917-3216549"]))
        uow.commit()
    with uow:
        found = uow.customers.find_by_phone("09173216549")
        assert found is not None and found.id == other.id and found.name == "李娜"
        assert uow.customers.find_by_phone("13912345678") is not None
        assert uow.customers.find_by_phone("13700000000") is None


def test_a_phone_belongs_to_one_customer(uow: SqlAlchemyUnitOfWork) -> None:
    with uow:
        uow.customers.add(zhang("13912345678"))
        uow.commit()
    with uow:
        with pytest.raises(Conflict, match="uq_customer_phones_number"):
            uow.customers.add(new_customer("冒名", ["139 1234 5678"]))


def test_customer_changes_are_saved(uow: SqlAlchemyUnitOfWork) -> None:
    with uow:
        customer = uow.customers.add(zhang("13912345678"))
        customer.add_phone("13800000002")
        customer.enterprise = EnterpriseAccount("甲公司", 100, 30)
        uow.commit()
        (customer_id,) = _ids(customer.id)
    with uow:
        customer = uow.customers.get(customer_id)  # type: ignore[assignment]
        assert customer is not None
        customer.phones = [p for p in customer.phones if p.number != "13912345678"]
        customer.add_address(new_address("咸阳市", "秦都区", "人民路 1 号", is_default=True))
        customer.enterprise = EnterpriseAccount("乙公司", 200, 15, "X1")
        customer.tags.append("VIP")
        customer.name = "张伟（新）"
        uow.flush()
        assert customer.addresses[-1].id is not None
        uow.commit()
    with uow:
        loaded = uow.customers.get(customer_id)
        assert loaded is not None
        assert loaded.phone_numbers == ["13800000002"]
        assert loaded.name == "张伟（新）"
        assert loaded.tags == ["VIP"]
        assert loaded.enterprise == EnterpriseAccount("乙公司", 200, 15, "X1")
        default = loaded.default_address()
        assert default is not None and default.city == "咸阳市"
        assert uow.customers.find_by_phone("13912345678") is None
        loaded.enterprise = None
        uow.commit()
    with uow:
        again = uow.customers.get(customer_id)
        assert again is not None and again.enterprise is None


def test_customer_read_without_orm_loaders_is_tracked_like_a_loaded_one(uow: SqlAlchemyUnitOfWork) -> None:
    # customers.get reads a customer without an enterprise account through Core statements and
    # attaches the objects to the session: changes to them must still be saved, and a second get in
    # the same block must return the same object.
    with uow:
        customer = uow.customers.add(zhang("13912345678"))
        customer.add_phone("13800000002")
        customer.add_address(new_address("咸阳市", "秦都区", "人民路 1 号"))
        uow.commit()
        (customer_id,) = _ids(customer.id)
    with uow:
        loaded = uow.customers.get(customer_id)
        assert loaded is not None and loaded.enterprise is None
        assert uow.customers.get(customer_id) is loaded
        assert loaded.phone_numbers == ["13912345678", "13800000002"]
        assert [a.city for a in loaded.addresses] == ["西安市", "咸阳市"]
        loaded.phones = [p for p in loaded.phones if p.number != "13912345678"]
        loaded.add_phone("13800000003")
        loaded.addresses[1].detail = "人民路 2 号"
        loaded.tags = ["VIP"]
        loaded.name = "张伟（新）"
        loaded.enterprise = EnterpriseAccount("丙公司", 300, 10)
        uow.commit()
    with uow:
        again = uow.customers.get(customer_id)
        assert again is not None
        assert again.phone_numbers == ["13800000002", "13800000003"]
        assert [a.detail for a in again.addresses][1] == "人民路 2 号"
        assert again.tags == ["VIP"] and again.name == "张伟（新）"
        assert again.enterprise == EnterpriseAccount("丙公司", 300, 10)
        assert uow.customers.find_by_phone("13912345678") is None
        assert uow.customers.get(customer_id + 1000) is None


def test_customer_search(uow: SqlAlchemyUnitOfWork) -> None:
    with uow:
        a = uow.customers.add(zhang("13912345678"))
        b = uow.customers.add(
            new_customer("李娜", ["13912340000"], [new_address("咸阳市", "秦都区", "人民路 100% 大厦")])
        )
        c = uow.customers.add(new_customer("王强", ["02988881234"]))
        uow.commit()
    with uow:

        def names(found: list[object]) -> list[str]:
            return [x.name for x in found]

        assert names(uow.customers.search(phone="1391234")) == ["张伟", "李娜"]
        assert names(uow.customers.search(q="科技路")) == ["张伟"]
        assert names(uow.customers.search(q="秦都区人民路")) == ["李娜"]  # city+district+detail
        assert names(uow.customers.search(q="100%")) == ["李娜"]
        assert names(uow.customers.search(q="%")) == ["李娜"]  # a literal %, not a wildcard
        assert names(uow.customers.search(q="王")) == ["王强"]
        assert names(uow.customers.search(q="张", phone="138")) == []
        assert [x.id for x in uow.customers.search(limit=2, offset=1)] == [b.id, c.id]
        assert a.id is not None


# ---------------------------------------------------------------- catalogue, stations, couriers


def test_products(uow: SqlAlchemyUnitOfWork) -> None:
    with uow:
        barrel = uow.products.add(water())
        uow.products.add(Product("OLD", "停售", "某", ProductKind.BARREL, 18900, 1500, active=False))
        uow.products.add(Product("DISP", "饮水机", "美的", ProductKind.DISPENSER, 0, 39900))
        uow.commit()
    with uow:
        (barrel_id,) = _ids(barrel.id)
        loaded = uow.products.get(barrel_id)
        assert loaded == Product(
            "NFS-189", "农夫山泉 18.9L", "农夫山泉", ProductKind.BARREL, 18900, 2000, id=barrel_id
        )
        assert loaded is not None and loaded.returnable
        assert [p.sku for p in uow.products.all()] == ["NFS-189", "OLD", "DISP"]
        assert [p.sku for p in uow.products.all(active_only=True)] == ["NFS-189", "DISP"]
        assert uow.products.get(9999) is None
    with uow:
        with pytest.raises(Conflict):
            uow.products.add(water())


def test_stations_keep_hours_and_service_area(uow: SqlAlchemyUnitOfWork) -> None:
    with uow:
        station = uow.stations.add(yanta_station())
        uow.commit()
        (station_id,) = _ids(station.id)
    with uow:
        loaded = uow.stations.get(station_id)
        assert loaded is not None
        assert loaded.service_districts == ["雁塔区", "曲江新区"]
        assert loaded.hours[0] == OpeningHours(0, time(7, 0), time(21, 0)) and len(loaded.hours) == 7
        assert loaded.serves("西安市", "曲江新区")
        assert loaded.is_open(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))  # 10:00 in Xi'an
        assert not loaded.is_open(datetime(2026, 11, 25, 14, 0, tzinfo=UTC))  # 22:00
        loaded.service_districts.append("长安区")
        uow.commit()
    with uow:
        assert [s.service_districts for s in uow.stations.all()] == [["雁塔区", "曲江新区", "长安区"]]


def test_couriers(uow: SqlAlchemyUnitOfWork, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        user = UserRepository(session, hasher).add("wangsf", Role.COURIER, "courier-pass-1", now=NOW)
        session.commit()
    with uow:
        yanta = uow.stations.add(yanta_station())
        other = uow.stations.add(yanta_station())
        (yanta_id, other_id) = _ids(yanta.id, other.id)
        wang = courier_of(yanta_id)
        wang.user_id = user.id
        uow.couriers.add(wang)
        uow.couriers.add(courier_of(other_id, "赵师傅", "13991110003"))
        uow.commit()
        (wang_id,) = _ids(wang.id)
    with uow:
        courier = uow.couriers.get(wang_id)
        assert courier is not None and courier.name == "王师傅" and courier.on_duty
        courier.take(5)
        assert uow.couriers.get(wang_id) is courier and courier.load == 5  # re-read keeps the change
        uow.commit()
    with uow:
        assert [c.name for c in uow.couriers.all(station_id=other_id)] == ["赵师傅"]
        assert len(uow.couriers.all()) == 2
        mine = uow.couriers.find_by_user(user.id)
        assert mine is not None and mine.id == wang_id and mine.load == 5 and mine.active_orders == 1
        assert uow.couriers.find_by_user(user.id + 1) is None


def test_courier_reserve_books_only_what_fits(uow: SqlAlchemyUnitOfWork) -> None:
    with uow:
        station = uow.stations.add(yanta_station())
        (station_id,) = _ids(station.id)
        wang = uow.couriers.add(courier_of(station_id))  # capacity 20
        zhao = uow.couriers.add(courier_of(station_id, "赵师傅", "13991110003"))
        zhao.on_duty = False
        uow.commit()
        (wang_id, zhao_id) = _ids(wang.id, zhao.id)
    with uow:
        candidates = uow.couriers.candidates(station_id)
        assert [(c.name, c.load) for c in candidates] == [("王师傅", 0), ("赵师傅", 0)]
        booked = uow.couriers.reserve(wang_id, 15)
        assert booked is not None and (booked.load, booked.active_orders) == (15, 1)
        assert uow.couriers.reserve(wang_id, 6) is None  # 21 > 20: nothing booked
        assert uow.couriers.reserve(zhao_id, 1) is None  # off duty
        assert uow.couriers.reserve(zhao_id + 100, 1) is None  # unknown
        uow.commit()
    with uow:
        loaded = uow.couriers.get(wang_id)
        assert loaded is not None and (loaded.load, loaded.active_orders) == (15, 1)
        booked = uow.couriers.reserve(wang_id, 5)
        # the object loaded earlier in this unit of work follows the booking, and is not saved twice
        assert booked is not None and loaded.load == booked.load == 20 and loaded.active_orders == 2
        uow.commit()
    with uow:
        again = uow.couriers.get(wang_id)
        assert again is not None and (again.load, again.active_orders) == (20, 2)
        uow.couriers.reserve(wang_id, 0)
        # rolled back: the booking is gone with the transaction
    with uow:
        assert [(c.load, c.active_orders) for c in uow.couriers.candidates(station_id)] == [(20, 2), (0, 0)]


# ---------------------------------------------------------------- orders


def _world(uow: SqlAlchemyUnitOfWork) -> tuple[int, int, int, int]:
    product = uow.products.add(water())
    station = uow.stations.add(yanta_station())
    (station_id,) = _ids(station.id)
    courier = uow.couriers.add(courier_of(station_id))
    customer = uow.customers.add(zhang())
    return _ids(customer.id, product.id, station_id, courier.id)  # type: ignore[return-value]


def _order(customer_id: int, address_id: int, product_id: int, seq: int, at: datetime) -> Order:
    return new_order(
        number=f"SX{at:%Y%m%d}-{seq:04d}",
        customer_id=customer_id,
        address_id=address_id,
        items=[OrderItem(product_id, 2, 2000), OrderItem(product_id, 1, 2000, paid_with_tickets=True)],
        channel=Channel.AGENT,
        at=at,
        by="agent1",
    )


def test_order_round_trip_and_transitions(uow: SqlAlchemyUnitOfWork) -> None:
    with uow:
        customer_id, product_id, station_id, courier_id = _world(uow)
        customer = uow.customers.get(customer_id)
        assert customer is not None
        (address_id,) = _ids(customer.addresses[0].id)
        order = _order(customer_id, address_id, product_id, 7, NOW)
        order.note = "放门口"
        uow.orders.add(order)
        assert order.id is not None and all(i.id for i in order.items) and order.transitions[0].id
        uow.commit()
        (order_id,) = _ids(order.id)
    with uow:
        loaded = uow.orders.get(order_id)
        assert loaded is not None
        assert loaded.number == "SX20261125-0007" and loaded.state is OrderState.PLACED
        assert loaded.total_fen == 6000 and loaded.due_fen == 4000 and loaded.ticket_units == 1
        assert loaded.channel is Channel.AGENT and loaded.note == "放门口"
        assert loaded.transitions[0].from_state is None and loaded.transitions[0].by == "agent1"
        eta = NOW + timedelta(minutes=40)
        loaded.dispatch(station_id, courier_id, eta, NOW + timedelta(minutes=1), "system", "雁塔站")
        loaded.transition(OrderState.DELIVERING, NOW + timedelta(minutes=5), "wangsf")
        uow.flush()
        assert all(t.id is not None for t in loaded.transitions)
        uow.commit()
    with uow:
        again = uow.orders.get_by_number("SX20261125-0007")
        assert again is not None and again.id == order_id
        assert again.state is OrderState.DELIVERING
        assert (again.station_id, again.courier_id, again.eta) == (station_id, courier_id, eta)
        assert [(t.from_state, t.to_state) for t in again.transitions] == [
            (None, OrderState.PLACED),
            (OrderState.PLACED, OrderState.DISPATCHED),
            (OrderState.DISPATCHED, OrderState.DELIVERING),
        ]
        assert again.entered_at(OrderState.DISPATCHED) == NOW + timedelta(minutes=1)
        assert again.transitions[1].reason == "雁塔站"
        assert uow.orders.get_by_number("SX20261125-9999") is None


def test_order_search_and_last_five(uow: SqlAlchemyUnitOfWork) -> None:
    with uow:
        customer_id, product_id, station_id, courier_id = _world(uow)
        other = uow.customers.add(
            new_customer("李娜", ["13800000001"], [new_address("西安市", "未央区", "x")])
        )
        customer = uow.customers.get(customer_id)
        assert customer is not None
        (address_id, other_id, other_address) = _ids(
            customer.addresses[0].id, other.id, other.addresses[0].id
        )
        orders = [
            uow.orders.add(_order(customer_id, address_id, product_id, n, NOW + timedelta(hours=n)))
            for n in range(1, 8)
        ]
        uow.orders.add(_order(other_id, other_address, product_id, 8, NOW + timedelta(hours=8)))
        orders[2].dispatch(station_id, courier_id, None, NOW, "system")
        orders[3].cancel("客户不要了", NOW, "agent1")
        uow.commit()
        numbers = [o.number for o in orders]
    with uow:
        recent = uow.orders.recent_for_customer(customer_id)
        assert [o.number for o in recent] == numbers[::-1][:5]
        assert [o.number for o in uow.orders.recent_for_customer(customer_id, limit=2)] == numbers[::-1][:2]

        def found(**kw: object) -> list[str]:
            return [o.number for o in uow.orders.search(OrderFilter(**kw))]  # type: ignore[arg-type]

        assert found(state=OrderState.DISPATCHED) == [numbers[2]]
        assert found(state=OrderState.CANCELLED) == [numbers[3]]
        assert found(station_id=station_id) == [numbers[2]] and found(courier_id=courier_id) == [numbers[2]]
        assert found(customer_id=other_id) == ["SX20261125-0008"]
        assert found(placed_from=NOW + timedelta(hours=2), placed_to=NOW + timedelta(hours=4)) == [
            numbers[2],
            numbers[1],
        ]
        assert len(found()) == 8 and found(limit=3, offset=1) == ["SX20261125-0007", *numbers[::-1][1:3]]


# ---------------------------------------------------------------- ledgers


def test_ticket_ledger_balances(uow: SqlAlchemyUnitOfWork) -> None:
    with uow:
        customer_id, product_id, station_id, _ = _world(uow)
        assert uow.tickets.account(customer_id, product_id, None) == TicketAccount(customer_id, product_id)
        general = uow.tickets.account(customer_id, product_id, None)
        sale = uow.tickets.append(general.sell(20, 36000, NOW, "agent1", "买20送2"))
        assert sale.id is not None and sale.balance_after == 20
        general = general.apply(sale)
        uow.tickets.append(general.consume(3, None, NOW + timedelta(hours=1), "wangsf"))
        local = uow.tickets.account(customer_id, product_id, station_id)
        uow.tickets.append(local.sell(5, 9000, NOW, "agent1"))
        uow.commit()
    with uow:
        assert uow.tickets.account(customer_id, product_id, None) == TicketAccount(
            customer_id, product_id, None, balance=17, last_seq=2
        )
        assert uow.tickets.account(customer_id, product_id, station_id).balance == 5
        assert uow.tickets.accounts(customer_id) == [
            TicketAccount(customer_id, product_id, None, 17, 2),
            TicketAccount(customer_id, product_id, station_id, 5, 1),
        ]
        entries = uow.tickets.entries(customer_id)
        assert [(e.kind, e.quantity, e.station_id) for e in entries] == [
            (TicketEntryKind.SALE, 20, None),
            (TicketEntryKind.SALE, 5, station_id),
            (TicketEntryKind.CONSUMPTION, -3, None),
        ]
        assert entries[0].note == "买20送2" and entries[0].price_fen == 36000 and entries[0].at == NOW
        assert uow.tickets.entries(customer_id, product_id=product_id + 1000) == []
        assert uow.tickets.accounts(customer_id + 1000) == []


def test_ticket_entry_for_an_existing_seq_is_a_conflict(uow: SqlAlchemyUnitOfWork) -> None:
    with uow:
        customer_id, product_id, _, _ = _world(uow)
        account = uow.tickets.account(customer_id, product_id, None)
        uow.tickets.append(account.sell(2, 3600, NOW, "agent1"))
        uow.commit()
    with uow:
        with pytest.raises(Conflict, match="uq_ticket_entries_account_seq|duplicate"):
            uow.tickets.append(account.sell(2, 3600, NOW, "agent1"))  # stale account: seq 1 again


def test_bucket_ledger(uow: SqlAlchemyUnitOfWork) -> None:
    with uow:
        customer_id, _, _, _ = _world(uow)
        account = uow.buckets.account(customer_id)
        assert account == BucketAccount(customer_id)
        account = account.apply(uow.buckets.append(account.deposit(2, 6000, NOW, "agent1")))
        account = account.apply(uow.buckets.append(account.deliver(3, None, NOW, "wangsf")))
        account = account.apply(uow.buckets.append(account.collect(1, None, NOW, "wangsf")))
        uow.commit()
    with uow:
        stored = uow.buckets.account(customer_id)
        assert (stored.entitlement, stored.held, stored.last_seq, stored.debt) == (2, 2, 3, 0)
        assert [e.seq for e in uow.buckets.entries(customer_id)] == [1, 2, 3]
        assert uow.buckets.entries(customer_id)[0].amount_fen == 6000
        with pytest.raises(Conflict):
            uow.buckets.append(replace(account.deliver(1, None, NOW, "x"), seq=3, held_after=3))


# ---------------------------------------------------------------- outbox


def test_outbox_due_retry_and_log(uow: SqlAlchemyUnitOfWork) -> None:
    policy = RetryPolicy(max_attempts=2)
    with uow:
        customer_id, _, _, _ = _world(uow)
        first = uow.outbox.add(new_sms("13912345678", "【水线】订单已派送", NOW, customer_id=customer_id))
        second = uow.outbox.add(new_sms("13912345678", "【水线】订单已取消", NOW + timedelta(seconds=1)))
        third = uow.outbox.add(new_sms("13800000001", "晚点发", NOW + timedelta(minutes=5)))
        uow.commit()
    with uow:
        assert [m.id for m in uow.outbox.due(NOW + timedelta(seconds=1), 10)] == [first.id, second.id]
        assert [m.id for m in uow.outbox.due(NOW + timedelta(hours=1), 2)] == [first.id, second.id]
        due = uow.outbox.due(NOW + timedelta(seconds=1), 10)
        due[0].mark_sent("log-1", NOW + timedelta(seconds=2))
        due[1].mark_failed_attempt("gateway down", NOW + timedelta(seconds=2), policy)
        uow.commit()
    with uow:
        # the failed one waits for its backoff (30 s); the sent one is never due again
        assert uow.outbox.due(NOW + timedelta(seconds=10), 10) == []
        retry = uow.outbox.due(NOW + timedelta(seconds=40), 10)
        assert [m.id for m in retry] == [second.id]
        retry[0].mark_failed_attempt("still down", NOW + timedelta(seconds=40), policy)
        uow.commit()
    with uow:
        assert [m.id for m in uow.outbox.due(NOW + timedelta(days=1), 10)] == [third.id]
        (first_id,) = _ids(first.id)
        sent = uow.outbox.get(first_id)
        assert sent is not None and sent.state is OutboxState.SENT and sent.provider_message_id == "log-1"
        assert sent.sent_at == NOW + timedelta(seconds=2) and sent.attempts == 1 and sent.segments == 1
        log = uow.outbox.search(to="13912345678")
        assert [m.id for m in log] == [second.id, first.id]  # newest first
        assert log[0].state is OutboxState.FAILED and log[0].last_error == "still down"
        assert [m.id for m in uow.outbox.search(state=OutboxState.FAILED)] == [second.id]
        assert [m.id for m in uow.outbox.search(limit=1, offset=1)] == [second.id]
        assert uow.outbox.search(order_id=12345) == []
        assert uow.outbox.get(99999) is None
