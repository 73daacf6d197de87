"""Who is calling and from where: the ``identify`` and ``clock`` answers of a call flow, and the
number lookup of the API.

Region resolution order (issue 5): the known customer's default address -> the number's mobile
block -> its landline area code -> unknown (the last three are ``NumberInfo``'s). A city the caller
chose in the flow's menu (``region``) stands in for the number's answer. The station is
chosen by the dispatch policy for an address (override, service area, nearest) and, for a region
known only to the city, among that city's stations; "open" always takes the holiday calendar into
account (``domain.hours``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from waterline.domain import phones
from waterline.domain.customers import Customer
from waterline.domain.dispatch import choose_station
from waterline.domain.errors import InvalidInput, NoStationAvailable, NotFound
from waterline.domain.hours import DayInfo, WorkCalendar, is_open, local_time
from waterline.domain.locality import Locality, LocalitySource, station_for_city
from waterline.domain.orders import Order
from waterline.domain.products import Product, ProductKind
from waterline.domain.regions import DISTRICTS, canonical_city
from waterline.domain.stations import Station
from waterline.services.ports import NumberInfo, UnitOfWork

RECENT_ORDERS = 5
# Every district we deliver to is in Shaanxi (``domain.regions``), so an address names the province.
SHAANXI = "陕西省"
OpenTest = Callable[[Station], bool]
_UNITS = {
    ProductKind.BARREL: "桶",
    ProductKind.BOTTLED: "箱",
    ProductKind.DISPENSER: "台",
    ProductKind.ACCESSORY: "件",
}


@dataclass(frozen=True)
class UsualOrder:
    """What the customer usually orders: ``text`` is read back to him (``2桶农夫山泉 18.9L``)."""

    product_id: int
    quantity: int
    text: str


@dataclass(frozen=True)
class OpenOrder:
    """The caller's most recent order that is neither delivered nor cancelled."""

    order_id: int
    number: str
    state: str
    eta: datetime | None


@dataclass(frozen=True)
class CallerIdentity:
    """Everything a call flow (and an agent) needs to know about a caller.

    ``customer_id`` is None for an unknown caller; then the customer fields are empty and the region
    comes from the number. ``ticket_balance`` counts the tickets usable for the usual product at the
    chosen station (its own tickets plus general ones); ``pays_with_tickets`` is True when they cover
    the usual quantity, so the reorder will be paid with them.
    """

    phone: str
    locality: Locality
    customer_id: int | None = None
    name: str | None = None
    tier: str | None = None
    address_id: int | None = None
    address_text: str | None = None
    station_id: int | None = None
    station_name: str | None = None
    station_phone: str | None = None
    station_open: bool | None = None
    day: DayInfo | None = None
    usual_order: UsualOrder | None = None
    ticket_balance: int = 0
    pays_with_tickets: bool = False
    open_order: OpenOrder | None = None

    def as_request_result(self) -> Mapping[str, object]:
        """The flat answer to a flow's ``identify`` request (names as the flows use them)."""
        usual = self.usual_order
        return {
            "caller": self.phone,
            "customer_id": self.customer_id,
            "known": self.customer_id is not None,
            "name": self.name,
            "tier": self.tier,
            "region_province": self.locality.province,
            "region_city": self.locality.city,
            "region_district": self.locality.district,
            "region_source": self.locality.source.value,
            "region_candidates": list(self.locality.candidates),
            "address_text": self.address_text,
            "station_id": self.station_id,
            "station_name": self.station_name,
            "station_phone": self.station_phone,
            "station_open": self.station_open,
            "is_workday": self.day.workday if self.day else None,
            "is_holiday": self.day.holiday if self.day else None,
            "usual_order_text": usual.text if usual else None,
            "usual_product_id": usual.product_id if usual else None,
            "usual_quantity": usual.quantity if usual else None,
            "ticket_balance": self.ticket_balance,
            "pays_with_tickets": self.pays_with_tickets,
            "open_order_id": self.open_order.order_id if self.open_order else None,
            "open_order_number": self.open_order.number if self.open_order else None,
            "open_order_state": self.open_order.state if self.open_order else None,
        }


@dataclass(frozen=True)
class StationClock:
    """The ``clock`` answer: is the station open now, and what kind of day it is."""

    station_id: int | None
    open: bool
    workday: bool
    holiday: bool
    holiday_name: str | None

    def as_request_result(self) -> Mapping[str, object]:
        """The flat answer to a flow's ``clock`` request."""
        return {
            "station_id": self.station_id,
            "open": self.open,
            "workday": self.workday,
            "holiday": self.holiday,
            "holiday_name": self.holiday_name,
        }


def identify_caller(
    uow: UnitOfWork,
    number_info: NumberInfo,
    phone: str,
    *,
    calendar: WorkCalendar,
    at: datetime,
    region: str | None = None,
) -> CallerIdentity:
    """Identify ``phone`` (any form) at the aware time ``at``; ``InvalidInput`` when it is no phone.

    ``region`` is a city the caller chose (``西安市`` or ``西安``); it replaces what the number says,
    but not a known customer's address.
    """
    number = phones.normalise(phone)
    chosen = _chosen(region)
    day = calendar.day(local_time(at).date())
    with uow:
        customer = uow.customers.find_by_phone(number)
        stations = uow.stations.all()

        def open_now(station: Station) -> bool:
            return is_open(station, at, calendar)

        def by_number() -> Locality:
            return chosen or number_info.locate(number)

        if customer is None or customer.id is None:
            locality = by_number()
            station = station_for_city(stations, locality.city, open_now)
            return _at_station(CallerIdentity(phone=number, locality=locality, day=day), station, open_now)
        return _known(uow, by_number, number, customer, stations, at, day, open_now)


def _chosen(region: str | None) -> Locality | None:
    if region is None or not region.strip():
        return None
    city = canonical_city(region)
    shaanxi = any(c == city for c, _ in DISTRICTS)
    return Locality(province=SHAANXI if shaanxi else None, city=city, source=LocalitySource.CALLER)


def _known(
    uow: UnitOfWork,
    by_number: Callable[[], Locality],
    number: str,
    customer: Customer,
    stations: Sequence[Station],
    at: datetime,
    day: DayInfo,
    open_now: OpenTest,
) -> CallerIdentity:
    assert customer.id is not None
    address = customer.default_address()
    station: Station | None = None
    if address is not None:
        locality = Locality(
            province=SHAANXI,
            city=address.city,
            district=address.district,
            source=LocalitySource.ADDRESS,
        )
        try:
            station = choose_station(address, stations, at, open_now).station
        except (NoStationAvailable, InvalidInput):
            station = None
    else:
        locality = by_number()
        station = station_for_city(stations, locality.city, open_now)
    recent = uow.orders.recent_for_customer(customer.id, RECENT_ORDERS)
    usual = _usual_order(uow, customer, recent)
    balance = 0
    if usual is not None:
        balance = _ticket_balance(uow, customer.id, usual.product_id, station.id if station else None)
    product = uow.products.get(usual.product_id) if usual else None
    by_ticket = bool(
        usual is not None and product is not None and product.returnable and 0 < usual.quantity <= balance
    )
    identity = CallerIdentity(
        phone=number,
        locality=locality,
        customer_id=customer.id,
        name=customer.name,
        tier=customer.tier.value,
        address_id=address.id if address else None,
        address_text=address.one_line() if address else None,
        day=day,
        usual_order=usual,
        ticket_balance=balance,
        pays_with_tickets=by_ticket,
        open_order=_open_order(recent),
    )
    return _at_station(identity, station, open_now)


def _at_station(identity: CallerIdentity, station: Station | None, open_now: OpenTest) -> CallerIdentity:
    if station is None:
        return identity
    return replace(
        identity,
        station_id=station.id,
        station_name=station.name,
        station_phone=station.phone or None,
        station_open=open_now(station),
    )


def _usual_order(uow: UnitOfWork, customer: Customer, recent: Sequence[Order]) -> UsualOrder | None:
    """The preference when set, else the last order when it was of a single product."""
    prefs = customer.preferences
    product_id, quantity = prefs.usual_product_id, prefs.usual_quantity
    if product_id is None or not quantity:
        last = recent[0] if recent else None
        if last is None or len({item.product_id for item in last.items}) != 1:
            return None
        product_id, quantity = last.items[0].product_id, last.units
    product = uow.products.get(product_id)
    if product is None or not product.active or quantity <= 0:
        return None
    return UsualOrder(product_id=product_id, quantity=quantity, text=usual_text(product, quantity))


def usual_text(product: Product, quantity: int) -> str:
    """How a usual order is read back: ``2桶农夫山泉 18.9L``."""
    return f"{quantity}{_UNITS.get(product.kind, '件')}{product.name}"


def _ticket_balance(uow: UnitOfWork, customer_id: int, product_id: int, station_id: int | None) -> int:
    # The same accounts place_order would spend from: the station's own, then general tickets.
    if station_id is not None:
        accounts = [
            uow.tickets.account(customer_id, product_id, station_id),
            uow.tickets.account(customer_id, product_id, None),
        ]
    else:
        accounts = [a for a in uow.tickets.accounts(customer_id) if a.product_id == product_id]
    return sum(a.balance for a in accounts)


def _open_order(recent: Sequence[Order]) -> OpenOrder | None:
    for order in recent:
        if order.is_open and order.id is not None:
            return OpenOrder(order_id=order.id, number=order.number, state=order.state.value, eta=order.eta)
    return None


def calendar_overrides(uow: UnitOfWork) -> dict[date, bool]:
    """The override table as the calendar adapter takes it: day -> is a workday."""
    with uow:
        return {row.day: row.is_workday for row in uow.holidays.all()}


def station_clock(
    uow: UnitOfWork, calendar: WorkCalendar, station_id: int | None, *, at: datetime
) -> StationClock:
    """The ``clock`` answer for ``station_id`` at the aware time ``at``.

    With no station (a caller whose region is unknown) ``open`` is True when any active station is
    open, so the hotline counts as open while someone can deliver. ``NotFound`` for an unknown id.
    """
    day = calendar.day(local_time(at).date())
    with uow:
        if station_id is None:
            anyone = any(is_open(s, at, calendar) for s in uow.stations.all() if s.active)
            return StationClock(None, anyone, day.workday, day.holiday, day.name)
        station = uow.stations.get(station_id)
        if station is None:
            raise NotFound("station", station_id)
        return StationClock(station_id, is_open(station, at, calendar), day.workday, day.holiday, day.name)
