"""Domain events: facts that happened, published after the unit of work commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from waterline.domain.orders import Channel, OrderState


@dataclass(frozen=True)
class Event:
    """Base of all events."""


@dataclass(frozen=True)
class CustomerCreated(Event):
    """A customer was registered."""

    customer_id: int


@dataclass(frozen=True)
class CustomerUpdated(Event):
    """A customer's data changed."""

    customer_id: int


@dataclass(frozen=True)
class OrderPlaced(Event):
    """An order was placed."""

    order_id: int
    number: str
    customer_id: int
    channel: Channel
    at: datetime


@dataclass(frozen=True)
class OrderStateChanged(Event):
    """Any recorded transition of an order (the dispatch board listens to this one)."""

    order_id: int
    number: str
    from_state: OrderState
    to_state: OrderState
    at: datetime
    by: str


@dataclass(frozen=True)
class OrderDispatched(Event):
    """An order was handed to a station's courier."""

    order_id: int
    number: str
    station_id: int
    courier_id: int
    eta: datetime | None
    at: datetime


@dataclass(frozen=True)
class CourierAssigned(Event):
    """A courier got an order (his app and the board refresh)."""

    order_id: int
    courier_id: int
    at: datetime


@dataclass(frozen=True)
class OrderAwaitingCourier(Event):
    """Dispatch found a station but no courier with room: a dispatcher must act."""

    order_id: int
    number: str
    station_id: int
    at: datetime


@dataclass(frozen=True)
class OrderDelivered(Event):
    """Water delivered."""

    order_id: int
    number: str
    tickets_used: int
    empties_collected: int
    at: datetime


@dataclass(frozen=True)
class OrderCancelled(Event):
    """An order was cancelled."""

    order_id: int
    number: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class TicketsSold(Event):
    """A ticket package was sold."""

    customer_id: int
    product_id: int
    quantity: int
    price_fen: int
    balance: int


@dataclass(frozen=True)
class TicketsConsumed(Event):
    """Tickets were spent on a delivery."""

    customer_id: int
    product_id: int
    quantity: int
    order_id: int | None
    balance: int


@dataclass(frozen=True)
class TicketsAdjusted(Event):
    """A ticket balance was corrected."""

    customer_id: int
    product_id: int
    delta: int
    balance: int


@dataclass(frozen=True)
class BucketsChanged(Event):
    """A customer's bucket position changed."""

    customer_id: int
    held: int
    entitlement: int
    debt: int


@dataclass(frozen=True)
class SmsQueued(Event):
    """An SMS was written to the outbox."""

    outbox_id: int
    to: str
    order_id: int | None
