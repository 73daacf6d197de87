"""The dispatch board's read side: the orders a dispatcher watches, per station and state, which are
overdue, and what changed since the board last looked.

Every order change appends an order transition (``domain.orders``), so the transitions' ids are a
change feed that works whichever process made the change (a web worker, the telephony engine's IVR
orders) and on both databases. :class:`OrderChangeFeed` is that port; the board keeps the newest
transition id it has seen (the *cursor*) and asks for the orders changed after it.

A transaction may commit after a later one (PostgreSQL gives ids at insert time), so a transition
with an id below a cursor can appear after the cursor was handed out. The feed therefore also
returns orders changed in the last ``LATE_COMMIT`` before ``now``; the board replaces orders by id,
so seeing one twice is harmless.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Protocol

from waterline.domain.customers import Address, Customer
from waterline.domain.errors import InvalidInput
from waterline.domain.orders import OPEN_STATES, SHANGHAI, Order, OrderState
from waterline.domain.stations import Courier, Station
from waterline.services.ports import OrderFilter, UnitOfWork

__all__ = [
    "BOARD_STATES",
    "LATE_COMMIT",
    "Board",
    "BoardOrder",
    "OrderChangeFeed",
    "StationColumn",
    "board",
    "changes",
    "is_overdue",
]

# the columns of the board; delivered and cancelled only for orders placed today
BOARD_STATES = (
    OrderState.PLACED,
    OrderState.DISPATCHED,
    OrderState.DELIVERING,
    OrderState.DELIVERED,
    OrderState.CANCELLED,
)
LATE_COMMIT = timedelta(seconds=15)
# a station has tens of open orders; a board is not a report
MAX_PER_STATE = 500
MAX_CHANGES = 500


class OrderChangeFeed(Protocol):
    """Order changes in the order they were recorded (the order transitions' ids)."""

    def cursor(self) -> int:
        """The id of the newest recorded transition (0 when there is none)."""
        ...

    def changed_since(self, cursor: int, recent_since: datetime, limit: int) -> list[int]:
        """Ids of the orders with a transition after ``cursor`` or recorded at or after
        ``recent_since``, at most ``limit``, in no particular order."""
        ...


def is_overdue(order: Order, now: datetime) -> bool:
    """An open order past its promise: the courier's ETA, else the end of the customer's window."""
    if order.state not in OPEN_STATES:
        return False
    promise = order.eta or order.window_end
    return promise is not None and promise < now


@dataclass(frozen=True)
class BoardOrder:
    """An order as the board shows it: where it goes (coordinates for the map) and whether it is late;
    ``customer`` and ``address`` only while the order is open."""

    order: Order
    customer: Customer | None
    address: Address | None
    overdue: bool
    lat: float | None
    lon: float | None


@dataclass(frozen=True)
class StationColumn:
    """A station with its couriers and how many of the board's orders are in each state."""

    station: Station
    couriers: list[Courier]
    counts: dict[OrderState, int] = field(default_factory=dict)
    overdue: int = 0


@dataclass(frozen=True)
class Board:
    """What the board shows at ``at``; ``cursor`` is the feed position the snapshot is newer than."""

    cursor: int
    at: datetime
    stations: list[StationColumn]
    orders: list[BoardOrder]
    unassigned: dict[OrderState, int] = field(default_factory=dict)


def _day_start(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(SHANGHAI).date(), time(0, 0), tzinfo=SHANGHAI)


def _coordinates(address: Address | None) -> tuple[float | None, float | None]:
    if address is None:
        return None, None
    try:
        return address.coordinates()
    except InvalidInput:  # a district the region table does not know: no dot on the map
        return None, None


class _Customers:
    """Customers loaded once per query, for open orders only: a finished order's card needs no address
    or phone, and loading the customer is most of the cost of a busy day's board."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.cache: dict[int, Customer | None] = {}

    def view(self, order: Order, now: datetime) -> BoardOrder:
        if not order.is_open:
            return BoardOrder(order, None, None, False, None, None)
        if order.customer_id not in self.cache:
            self.cache[order.customer_id] = self.uow.customers.get(order.customer_id)
        customer = self.cache[order.customer_id]
        address = customer.address_by_id(order.address_id) if customer is not None else None
        lat, lon = _coordinates(address)
        return BoardOrder(order, customer, address, is_overdue(order, now), lat, lon)


def board(uow: UnitOfWork, feed: OrderChangeFeed, now: datetime, station_id: int | None = None) -> Board:
    """The board at ``now``: every open order and today's delivered and cancelled ones (of one station
    when given), the stations with their couriers and counts. Call outside ``with uow``."""
    # the cursor first: whatever changes while the snapshot is read comes again with ``changes``
    cursor = feed.cursor()
    day_start = _day_start(now)
    with uow:
        found: list[Order] = []
        for state in BOARD_STATES:
            criteria = OrderFilter(
                state=state,
                station_id=station_id,
                placed_from=None if state in OPEN_STATES else day_start,
                limit=MAX_PER_STATE,
            )
            found.extend(uow.orders.search(criteria))
        customers = _Customers(uow)
        orders = [customers.view(order, now) for order in found]
        stations = [s for s in uow.stations.all() if station_id is None or s.id == station_id]
        couriers = uow.couriers.all(station_id=station_id)
    return Board(
        cursor=cursor,
        at=now,
        stations=_columns(stations, couriers, orders),
        orders=orders,
        unassigned=_count(o for o in orders if o.order.station_id is None),
    )


def _count(orders: Iterable[BoardOrder]) -> dict[OrderState, int]:
    counts: dict[OrderState, int] = {}
    for item in orders:
        counts[item.order.state] = counts.get(item.order.state, 0) + 1
    return counts


def _columns(
    stations: Sequence[Station], couriers: Sequence[Courier], orders: Sequence[BoardOrder]
) -> list[StationColumn]:
    return [
        StationColumn(
            station=station,
            couriers=[c for c in couriers if c.station_id == station.id],
            counts=_count(o for o in orders if o.order.station_id == station.id),
            overdue=sum(1 for o in orders if o.order.station_id == station.id and o.overdue),
        )
        for station in stations
    ]


def changes(
    uow: UnitOfWork, feed: OrderChangeFeed, after: int, now: datetime, station_id: int | None = None
) -> tuple[int, list[BoardOrder]]:
    """The new cursor and the orders changed after ``after`` (or in the last ``LATE_COMMIT``), in
    their current state, including those that left the board (delivered, cancelled, closed), so the
    board can move or drop them. A cursor below ``after`` means the store was replaced: reload the
    board. Call outside ``with uow``."""
    if after < 0:
        raise InvalidInput("invalid_input", detail="cursor must not be negative / 游标不能为负数")
    cursor = feed.cursor()
    ids = feed.changed_since(after, now - LATE_COMMIT, MAX_CHANGES)
    with uow:
        customers = _Customers(uow)
        views: list[BoardOrder] = []
        for order_id in sorted(ids):
            order = uow.orders.get(order_id)
            if order is None or (station_id is not None and order.station_id != station_id):
                continue
            views.append(customers.view(order, now))
    return cursor, views
