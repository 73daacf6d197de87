"""Caller identification and the station clock, on the in-memory store."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy.orm import Session, sessionmaker

from fakes import FakeClock, FakeStore, World
from waterline.adapters.calendar import ChineseWorkCalendar
from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.adapters.numberinfo import PhoneNumberInfo
from waterline.domain.commands import (
    AddressInput,
    CreateCustomer,
    PlaceOrder,
    PreferencesInput,
    SellTickets,
)
from waterline.domain.customers import Customer, Tier
from waterline.domain.errors import InvalidInput, NotFound
from waterline.domain.locality import Locality, LocalitySource
from waterline.domain.orders import ItemRequest, Order
from waterline.domain.overrides import HolidayOverride
from waterline.domain.products import Product, ProductKind
from waterline.domain.stations import Station, daily_hours
from waterline.services.bus import MessageBus
from waterline.services.callers import calendar_overrides, identify_caller, station_clock
from waterline.services.context import Dependencies

YANTA = AddressInput("西安市", "雁塔区", "大雁塔北广场 3 号楼 2 单元 501", floor=5, lat=34.2197, lon=108.9640)
CALENDAR = ChineseWorkCalendar()


class RecordingNumberInfo:
    """A NumberInfo that answers one locality and remembers what it was asked."""

    def __init__(self, answer: Locality) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def locate(self, phone: str) -> Locality:
        self.asked.append(phone)
        return self.answer


@pytest.fixture(scope="module")
def numbers() -> PhoneNumberInfo:
    return PhoneNumberInfo()


def _customer(bus: MessageBus, **extra: object) -> Customer:
    command = CreateCustomer(
        name="张先生",
        phones=("13991234567", "029-8888 1234"),
        addresses=(YANTA,),
        **extra,  # type: ignore[arg-type]
    )
    customer = bus.handle(command)
    assert isinstance(customer, Customer) and customer.id is not None
    return customer


def test_known_caller_by_any_phone_with_usual_order_and_tickets(
    bus: MessageBus, store: FakeStore, world: World, clock: FakeClock
) -> None:
    customer = _customer(
        bus, tier=Tier.VIP, preferences=PreferencesInput(usual_product_id=world.water, usual_quantity=2)
    )
    assert customer.id is not None
    bus.handle(SellTickets(customer.id, world.water, quantity=1, price_fen=1800, station_id=world.yanta))
    bus.handle(SellTickets(customer.id, world.water, quantity=2, price_fen=3600))
    bus.handle(SellTickets(customer.id, world.water, quantity=9, price_fen=16200, station_id=world.weiyang))
    number_info = RecordingNumberInfo(Locality("江苏省", "常州", LocalitySource.MOBILE_BLOCK))

    found = identify_caller(store.uow(), number_info, "(029) 8888-1234", calendar=CALENDAR, at=clock.now())

    assert found.customer_id == customer.id
    assert (found.name, found.tier) == ("张先生", "vip")
    assert found.phone == "02988881234"
    # the default address wins over whatever the number says; the number is not even looked up
    assert number_info.asked == []
    assert (found.locality.city, found.locality.district) == ("西安市", "雁塔区")
    assert found.locality.source is LocalitySource.ADDRESS
    assert (found.station_id, found.station_open) == (world.yanta, True)
    assert found.usual_order is not None and found.usual_order.text == "2桶农夫山泉 18.9L"
    # 雁塔 station tickets + general ones; 未央's own tickets cannot pay a 雁塔 delivery
    assert found.ticket_balance == 3
    assert found.pays_with_tickets
    assert found.address_text is not None and found.address_text.startswith("西安市雁塔区")
    assert found.open_order is None
    result = found.as_request_result()
    assert result["region_source"] == "address"
    assert result["usual_quantity"] == 2 and result["is_workday"] is True


def test_usual_order_from_the_last_order_and_the_open_order(
    bus: MessageBus, store: FakeStore, world: World, clock: FakeClock
) -> None:
    customer = _customer(bus)
    assert customer.id is not None
    order = bus.handle(PlaceOrder(customer_id=customer.id, items=(ItemRequest(world.other_water, 3),)))
    assert isinstance(order, Order)

    found = identify_caller(store.uow(), PhoneNumberInfo(), "13991234567", calendar=CALENDAR, at=clock.now())

    assert found.usual_order is not None
    assert (found.usual_order.product_id, found.usual_order.quantity) == (world.other_water, 3)
    assert found.ticket_balance == 0 and not found.pays_with_tickets
    assert found.open_order is not None
    assert (found.open_order.order_id, found.open_order.number) == (order.id, order.number)
    assert found.open_order.state == order.state.value


def test_unknown_0917_caller_is_routed_to_baoji(
    numbers: PhoneNumberInfo, store: FakeStore, world: World, clock: FakeClock
) -> None:
    with store.uow() as uow:
        baoji = uow.stations.add(
            Station("渭滨站", "宝鸡市", "渭滨区", 34.37, 107.15, ["渭滨区", "金台区"], "09173210001")
        )
        uow.commit()

    found = identify_caller(store.uow(), numbers, "0917-321 2345", calendar=CALENDAR, at=clock.now())

    assert found.customer_id is None and found.name is None
    assert (found.locality.province, found.locality.city) == ("陕西省", "宝鸡市")
    assert found.locality.source is LocalitySource.AREA_CODE
    assert found.station_id == baoji.id and found.station_open is True


def test_unknown_173_mobile_goes_by_its_block_not_to_beijing(
    numbers: PhoneNumberInfo, store: FakeStore, world: World, clock: FakeClock
) -> None:
    found = identify_caller(store.uow(), numbers, "17391201234", calendar=CALENDAR, at=clock.now())
    assert found.locality.city == "宝鸡市"
    assert found.locality.source is LocalitySource.MOBILE_BLOCK
    assert found.station_id is None  # the seeded world has no 宝鸡 station


def test_unknown_029_landline_has_no_city_and_no_station(
    numbers: PhoneNumberInfo, store: FakeStore, world: World, clock: FakeClock
) -> None:
    found = identify_caller(store.uow(), numbers, "029-8765 4321", calendar=CALENDAR, at=clock.now())
    assert found.locality.province == "陕西省" and found.locality.city is None
    assert found.station_id is None and found.station_open is None
    assert found.as_request_result()["region_candidates"] == ["西安市", "咸阳市", "杨凌示范区"]


def test_unknown_xianyang_mobile_gets_the_xianyang_station(
    numbers: PhoneNumberInfo, store: FakeStore, world: World, clock: FakeClock
) -> None:
    found = identify_caller(store.uow(), numbers, "13991001234", calendar=CALENDAR, at=clock.now())
    assert found.locality.city == "咸阳市"
    assert found.station_id == world.xianyang


def test_makeup_saturday_counts_as_a_workday(
    bus: MessageBus, store: FakeStore, world: World, numbers: PhoneNumberInfo
) -> None:
    # the 雁塔 station opens Monday-Friday only
    with store.uow() as uow:
        station = uow.stations.get(world.yanta)
        assert station is not None
        station.hours = daily_hours(time(8, 0), time(18, 0), range(5))
        uow.commit()
    _customer(bus)
    makeup_saturday = datetime(2026, 2, 14, 2, 0, tzinfo=UTC)  # 10:00 in Xi'an
    plain_saturday = datetime(2026, 2, 7, 2, 0, tzinfo=UTC)

    worked = identify_caller(store.uow(), numbers, "13991234567", calendar=CALENDAR, at=makeup_saturday)
    rested = identify_caller(store.uow(), numbers, "13991234567", calendar=CALENDAR, at=plain_saturday)

    assert worked.day is not None and worked.day.workday and worked.day.makeup_workday
    assert worked.station_id == world.yanta and worked.station_open is True
    # an ordinary Saturday: 雁塔 is closed, so the policy's next choice (the open 未央 station) answers
    assert rested.day is not None and not rested.day.workday
    assert rested.station_id == world.weiyang and rested.station_open is True


def test_not_a_phone_is_invalid(store: FakeStore, world: World, clock: FakeClock) -> None:
    with pytest.raises(InvalidInput):
        identify_caller(store.uow(), PhoneNumberInfo(), "hello", calendar=CALENDAR, at=clock.now())


def test_station_clock(store: FakeStore, world: World) -> None:
    national_day_evening = datetime(2026, 10, 1, 14, 0, tzinfo=UTC)  # 22:00 in Xi'an, stations closed
    national_day_morning = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
    evening = station_clock(store.uow(), CALENDAR, world.yanta, at=national_day_evening)
    assert (evening.open, evening.workday, evening.holiday) == (False, False, True)
    assert evening.holiday_name == "National Day"
    morning = station_clock(store.uow(), CALENDAR, world.yanta, at=national_day_morning)
    assert morning.open
    assert morning.as_request_result()["holiday"] is True
    anyone = station_clock(store.uow(), CALENDAR, None, at=national_day_morning)
    assert anyone.open and anyone.station_id is None
    assert not station_clock(store.uow(), CALENDAR, None, at=national_day_evening).open
    with pytest.raises(NotFound):
        station_clock(store.uow(), CALENDAR, 999, at=national_day_morning)


def test_override_table_decides_a_year_the_package_lacks(store: FakeStore, world: World) -> None:
    with store.uow() as uow:
        station = uow.stations.get(world.yanta)
        assert station is not None
        station.hours = daily_hours(time(8, 0), time(18, 0), range(5))
        uow.commit()
    saturday = datetime(2031, 2, 8, 2, 0, tzinfo=UTC)
    assert not station_clock(store.uow(), ChineseWorkCalendar(), world.yanta, at=saturday).open
    calendar = ChineseWorkCalendar({date(2031, 2, 8): True})
    answer = station_clock(store.uow(), calendar, world.yanta, at=saturday)
    assert answer.open and answer.workday


def test_calendar_overrides_come_from_the_store(store: FakeStore) -> None:
    at = datetime(2030, 12, 1, tzinfo=UTC)
    with store.uow() as uow:
        uow.holidays.replace_all(
            [
                HolidayOverride(date(2031, 2, 8), True, "调休", at),
                HolidayOverride(date(2031, 2, 3), False, "春节", at),
            ]
        )
        uow.commit()
    overrides = calendar_overrides(store.uow())
    assert overrides == {date(2031, 2, 8): True, date(2031, 2, 3): False}
    assert ChineseWorkCalendar(overrides).day(date(2031, 2, 8)).workday


def test_known_caller_without_address_is_placed_by_his_number(
    bus: MessageBus, store: FakeStore, world: World, numbers: PhoneNumberInfo, clock: FakeClock
) -> None:
    customer = bus.handle(CreateCustomer(name="李女士", phones=("13991001234",)))
    assert isinstance(customer, Customer)

    found = identify_caller(store.uow(), numbers, "13991001234", calendar=CALENDAR, at=clock.now())

    assert found.customer_id == customer.id and found.address_text is None
    assert (found.locality.city, found.locality.source) == ("咸阳市", LocalitySource.MOBILE_BLOCK)
    assert found.station_id == world.xianyang
    assert found.usual_order is None and found.open_order is None


def test_on_the_sql_store(session_factory: sessionmaker[Session]) -> None:
    """The same identification reading SQLite and PostgreSQL: phones, stations, orders, tickets, overrides."""

    def uows() -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(session_factory)

    clock = FakeClock(datetime(2026, 2, 14, 2, 0, tzinfo=UTC))  # a 调休 Saturday, 10:00 in Xi'an
    with uows() as uow:
        water = uow.products.add(
            Product("NFS-189", "农夫山泉 18.9L", "农夫山泉", ProductKind.BARREL, 18900, 2000)
        )
        weekdays = daily_hours(time(8, 0), time(18, 0), range(5))
        station = uow.stations.add(
            Station("雁塔站", "西安市", "雁塔区", 34.2135, 108.9486, ["雁塔区"], "02985550001", weekdays)
        )
        uow.holidays.replace_all([HolidayOverride(date(2031, 2, 8), True, "调休", clock.now())])
        uow.commit()
    assert water.id is not None and station.id is not None
    bus = MessageBus(uows, Dependencies(clock=clock))
    customer = bus.handle(
        CreateCustomer(
            name="张先生",
            phones=("13991234567", "029-8888 1234"),
            addresses=(YANTA,),
            preferences=PreferencesInput(usual_product_id=water.id, usual_quantity=2),
        )
    )
    assert isinstance(customer, Customer) and customer.id is not None
    bus.handle(SellTickets(customer.id, water.id, quantity=5, price_fen=9000))
    order = bus.handle(PlaceOrder(customer_id=customer.id, items=(ItemRequest(water.id, 2),)))
    assert isinstance(order, Order)
    calendar = ChineseWorkCalendar(calendar_overrides(uows()))

    found = identify_caller(uows(), PhoneNumberInfo(), "02988881234", calendar=calendar, at=clock.now())

    assert found.customer_id == customer.id and found.locality.source is LocalitySource.ADDRESS
    assert (found.station_id, found.station_open) == (station.id, True)
    assert found.day is not None and found.day.makeup_workday
    assert found.usual_order is not None and found.usual_order.text == "2桶农夫山泉 18.9L"
    assert (found.ticket_balance, found.pays_with_tickets) == (5, True)
    assert found.open_order is not None and found.open_order.number == order.number
    assert calendar.day(date(2031, 2, 8)).workday
    assert station_clock(uows(), calendar, station.id, at=clock.now()).open


def test_a_city_the_caller_chose_replaces_an_undecided_029(
    bus: MessageBus, store: FakeStore, world: World, numbers: PhoneNumberInfo, clock: FakeClock
) -> None:
    found = identify_caller(
        store.uow(), numbers, "029-8765 4321", calendar=CALENDAR, at=clock.now(), region="咸阳"
    )
    assert (found.locality.province, found.locality.city) == ("陕西省", "咸阳市")
    assert found.locality.source is LocalitySource.CALLER
    assert found.station_id == world.xianyang
    assert found.as_request_result()["station_phone"] == "02933330001"
    # a blank choice is no choice
    blank = identify_caller(
        store.uow(), numbers, "029-8765 4321", calendar=CALENDAR, at=clock.now(), region=" "
    )
    assert blank.locality.source is LocalitySource.AREA_CODE
    # a known customer's address still wins over the choice
    _customer(bus)
    known = identify_caller(
        store.uow(), numbers, "13991234567", calendar=CALENDAR, at=clock.now(), region="咸阳市"
    )
    assert known.locality.source is LocalitySource.ADDRESS and known.station_id == world.yanta
