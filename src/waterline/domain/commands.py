"""Commands: what someone asks the system to do. Each is handled by exactly one handler.

Outside input (a call event, a form post, a CSV row) becomes one of these at the edge. ``by`` is the
acting user's id as text, or ``"system"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

from waterline.domain.customers import Tier
from waterline.domain.orders import Channel, ItemRequest, OrderState


@dataclass(frozen=True)
class Command:
    """Base of all commands."""


@dataclass(frozen=True)
class AddressInput:
    """An address as entered, before validation."""

    city: str
    district: str
    detail: str
    floor: int = 1
    has_elevator: bool = False
    lat: float | None = None
    lon: float | None = None
    station_override_id: int | None = None
    is_default: bool = False


@dataclass(frozen=True)
class PreferencesInput:
    """Usual order and delivery window."""

    usual_product_id: int | None = None
    usual_quantity: int | None = None
    window_start: time | None = None
    window_end: time | None = None


@dataclass(frozen=True)
class EnterpriseInput:
    """Credit terms of an enterprise customer."""

    company_name: str
    credit_limit_fen: int
    payment_terms_days: int = 30
    tax_id: str = ""


@dataclass(frozen=True)
class CreateCustomer(Command):
    """Register a customer; phones must not belong to another customer."""

    name: str
    phones: tuple[str, ...]
    addresses: tuple[AddressInput, ...] = ()
    tier: Tier = Tier.NORMAL
    tags: tuple[str, ...] = ()
    notes: str = ""
    preferences: PreferencesInput | None = None
    enterprise: EnterpriseInput | None = None
    by: str = "system"


@dataclass(frozen=True)
class UpdateCustomer(Command):
    """Change a customer; ``None`` fields are left as they are."""

    customer_id: int
    name: str | None = None
    add_phones: tuple[str, ...] = ()
    remove_phones: tuple[str, ...] = ()
    add_addresses: tuple[AddressInput, ...] = ()
    tier: Tier | None = None
    tags: tuple[str, ...] | None = None
    notes: str | None = None
    preferences: PreferencesInput | None = None
    enterprise: EnterpriseInput | None = None
    by: str = "system"


@dataclass(frozen=True)
class PlaceOrder(Command):
    """Place an order; ``address_id`` None means the default address, ``auto_dispatch`` None the setting."""

    customer_id: int
    items: tuple[ItemRequest, ...]
    channel: Channel = Channel.AGENT
    address_id: int | None = None
    pay_with_tickets: bool = False
    window_start: datetime | None = None
    window_end: datetime | None = None
    note: str = ""
    auto_dispatch: bool | None = None
    by: str = "system"


@dataclass(frozen=True)
class DispatchOrder(Command):
    """Dispatch a placed order: to the given station/courier, or by the policy when they are None."""

    order_id: int
    station_id: int | None = None
    courier_id: int | None = None
    by: str = "system"


@dataclass(frozen=True)
class ReassignOrder(Command):
    """Give a dispatched order to another courier (改派); the customer is told the new courier."""

    order_id: int
    courier_id: int
    by: str = "system"


@dataclass(frozen=True)
class TransitionOrder(Command):
    """Move an order to ``to``; for delivered, ``tickets_used`` None means the ticket-paid quantity."""

    order_id: int
    to: OrderState
    reason: str = ""
    empties_collected: int = 0
    tickets_used: int | None = None
    by: str = "system"


@dataclass(frozen=True)
class CancelOrder(Command):
    """Cancel an order (placed or dispatched) with a reason."""

    order_id: int
    reason: str
    by: str = "system"


@dataclass(frozen=True)
class SellTickets(Command):
    """Sell a ticket package: ``quantity`` tickets (bonus included) for ``price_fen``."""

    customer_id: int
    product_id: int
    quantity: int
    price_fen: int
    station_id: int | None = None
    note: str = ""
    by: str = "system"


@dataclass(frozen=True)
class AdjustTickets(Command):
    """Correct a ticket balance by ``delta`` with a reason."""

    customer_id: int
    product_id: int
    delta: int
    reason: str
    station_id: int | None = None
    by: str = "system"


@dataclass(frozen=True)
class PayBucketDeposit(Command):
    """Customer pays a deposit for ``quantity`` buckets."""

    customer_id: int
    quantity: int
    amount_fen: int
    note: str = ""
    by: str = "system"


@dataclass(frozen=True)
class RefundBucketDeposit(Command):
    """Deposit for ``quantity`` buckets paid back."""

    customer_id: int
    quantity: int
    amount_fen: int
    note: str = ""
    by: str = "system"


@dataclass(frozen=True)
class AdjustBuckets(Command):
    """Stock-take correction of held buckets and/or deposit entitlement."""

    customer_id: int
    held_delta: int = 0
    entitlement_delta: int = 0
    reason: str = ""
    by: str = "system"


@dataclass(frozen=True)
class CollectEmpties(Command):
    """Empties collected outside a delivery (e.g. a pick-up round)."""

    customer_id: int
    quantity: int
    by: str = "system"
    order_id: int | None = field(default=None)
