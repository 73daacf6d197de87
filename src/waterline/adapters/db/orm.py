"""Tables of the business core, and how A's plain domain classes map onto them.

The domain never imports SQLAlchemy: its dataclasses are mapped *imperatively* by ``start_mappers``
(the cosmicpython way), which the unit of work calls once. Frozen value objects that cannot be
instrumented (ledger entries, opening hours) are converted explicitly: ledger rows in
``repositories.py``, opening hours by a JSON column type here.

Conventions: money is integer fen; every datetime column is ``UtcDateTime`` (aware UTC in and out,
naive UTC text on SQLite); enum columns hold the enum's value; no column of a mapped table has a
server default, so nothing is expired after a flush and detached objects stay fully readable.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, time
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.ext.mutable import MutableList
from sqlalchemy.orm import Mapper, composite, registry, relationship
from sqlalchemy.types import TypeDecorator

from waterline.adapters.db.metadata import metadata
from waterline.adapters.db.users import users_table
from waterline.domain.customers import Address, Customer, CustomerPhone, EnterpriseAccount, Preferences, Tier
from waterline.domain.orders import Channel, Order, OrderItem, OrderState, OrderTransition
from waterline.domain.outbox import OutboxMessage, OutboxState
from waterline.domain.products import Product, ProductKind
from waterline.domain.stations import Courier, OpeningHours, Station

E = TypeVar("E", bound=enum.Enum)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as UTC; read back aware (UTC) on both databases.

    SQLite has no time zones, so the value is stored as naive UTC text there; PostgreSQL keeps
    ``timestamptz``. Naive datetimes are refused: they are the classic source of 8-hour errors.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the store only takes aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class EnumText(TypeDecorator[E], Generic[E]):
    """An enum stored as its string value in a VARCHAR (portable; no PostgreSQL ENUM to migrate)."""

    impl = String(16)
    cache_ok = True

    def __init__(self, enum_class: type[E]) -> None:
        super().__init__()
        self.enum_class = enum_class

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return str(self.enum_class(value).value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum_class(value)


class OpeningHoursJson(TypeDecorator[list[OpeningHours]]):
    """A station's opening hours as a JSON list of ``{"weekday", "opens", "closes"}`` (HH:MM:SS)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: list[OpeningHours] | None, dialect: Dialect) -> Any:
        if value is None:
            return []
        return [
            {"weekday": h.weekday, "opens": h.opens.isoformat(), "closes": h.closes.isoformat()}
            for h in value
        ]

    def process_result_value(self, value: Any, dialect: Dialect) -> list[OpeningHours] | None:
        return [
            OpeningHours(
                weekday=int(item["weekday"]),
                opens=time.fromisoformat(item["opens"]),
                closes=time.fromisoformat(item["closes"]),
            )
            for item in value or []
        ]


def _string_list() -> Any:
    # MutableList: ``customer.tags.append(...)`` in place is noticed, not only reassignment.
    return MutableList.as_mutable(JSON())


def _by_id(table: str) -> ForeignKey:
    return ForeignKey(f"{table}.id")


# ------------------------------------------------------------------ catalogue and stations

products_table = Table(
    "products",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sku", String(32), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("brand", String(50), nullable=False),
    Column("kind", EnumText(ProductKind), nullable=False),
    Column("volume_ml", Integer, nullable=False),
    Column("price_fen", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    CheckConstraint("price_fen >= 0", name="price_not_negative"),
)

stations_table = Table(
    "stations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("city", String(32), nullable=False),
    Column("district", String(32), nullable=False),
    Column("lat", Double, nullable=False),
    Column("lon", Double, nullable=False),
    Column("service_districts", _string_list(), nullable=False),
    Column("phone", String(20), nullable=False),
    Column("hours", OpeningHoursJson, nullable=False),
    Column("active", Boolean, nullable=False),
)

couriers_table = Table(
    "couriers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("station_id", _by_id("stations"), nullable=False, index=True),
    Column("name", String(50), nullable=False),
    Column("mobile", String(20), nullable=False),
    Column("capacity_per_trip", Integer, nullable=False),
    Column("on_duty", Boolean, nullable=False),
    Column("load", Integer, nullable=False),
    Column("active_orders", Integer, nullable=False),
    Column("user_id", ForeignKey(users_table.c.id, ondelete="SET NULL"), nullable=True, unique=True),
    CheckConstraint("load >= 0 AND active_orders >= 0", name="load_not_negative"),
)

# ------------------------------------------------------------------ customers

customers_table = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("tier", EnumText(Tier), nullable=False),
    Column("tags", _string_list(), nullable=False),
    Column("notes", Text, nullable=False),
    Column("usual_product_id", _by_id("products"), nullable=True),
    Column("usual_quantity", Integer, nullable=True),
    Column("window_start", Time, nullable=True),
    Column("window_end", Time, nullable=True),
)

customer_phones_table = Table(
    "customer_phones",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True),
    # Canonical digits; unique, so the screen-pop lookup is one index probe and a phone has one owner.
    Column("number", String(20), nullable=False, unique=True),
    Column("label", String(32), nullable=False),
)

addresses_table = Table(
    "addresses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("city", String(32), nullable=False),
    Column("district", String(32), nullable=False),
    Column("detail", String(200), nullable=False),
    Column("floor", Integer, nullable=False),
    Column("has_elevator", Boolean, nullable=False),
    Column("lat", Double, nullable=True),
    Column("lon", Double, nullable=True),
    Column("station_override_id", _by_id("stations"), nullable=True),
    Column("is_default", Boolean, nullable=False),
)

enterprise_accounts_table = Table(
    "enterprise_accounts",
    metadata,
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("company_name", String(200), nullable=False),
    Column("credit_limit_fen", BigInteger, nullable=False),
    Column("payment_terms_days", Integer, nullable=False),
    Column("tax_id", String(32), nullable=False),
)

# ------------------------------------------------------------------ orders

orders_table = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", String(32), nullable=False, unique=True),
    Column("customer_id", _by_id("customers"), nullable=False),
    Column("address_id", _by_id("addresses"), nullable=False),
    Column("channel", EnumText(Channel), nullable=False),
    Column("placed_at", UtcDateTime, nullable=False, index=True),
    Column("state", EnumText(OrderState), nullable=False),
    Column("window_start", UtcDateTime, nullable=True),
    Column("window_end", UtcDateTime, nullable=True),
    Column("station_id", _by_id("stations"), nullable=True),
    Column("courier_id", _by_id("couriers"), nullable=True),
    Column("eta", UtcDateTime, nullable=True),
    Column("pay_with_tickets", Boolean, nullable=False),
    Column("tickets_used", Integer, nullable=False),
    Column("empties_collected", Integer, nullable=False),
    Column("note", Text, nullable=False),
    Column("cancel_reason", Text, nullable=False),
    # the screen-pop's "last 5 orders" and the boards' filters
    Index("ix_orders_customer_placed", "customer_id", "placed_at"),
    Index("ix_orders_station_state", "station_id", "state"),
    Index("ix_orders_courier_state", "courier_id", "state"),
    Index("ix_orders_state_placed", "state", "placed_at"),
)

order_items_table = Table(
    "order_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("product_id", _by_id("products"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price_fen", Integer, nullable=False),
    Column("paid_with_tickets", Boolean, nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    CheckConstraint("unit_price_fen >= 0", name="price_not_negative"),
)

# Append-only: KPIs are computed from these rows, so the mapper refuses updates and deletes.
order_transitions_table = Table(
    "order_transitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", _by_id("orders"), nullable=False, index=True),
    Column("from_state", EnumText(OrderState), nullable=True),
    Column("to_state", EnumText(OrderState), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("reason", Text, nullable=False),
)

# One row per Asia/Shanghai day; incremented with an atomic upsert (see UnitOfWork).
order_sequences_table = Table(
    "order_sequences",
    metadata,
    Column("day", Date, primary_key=True),
    Column("last_value", Integer, nullable=False),
)

# ------------------------------------------------------------------ ledgers (insert-only)

ticket_entries_table = Table(
    "ticket_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", _by_id("customers"), nullable=False),
    Column("product_id", _by_id("products"), nullable=False),
    Column("station_id", _by_id("stations"), nullable=True),
    # station_id or 0: NULLs never collide in a UNIQUE constraint, and general (station-less)
    # accounts need the same (account, seq) protection against double spending.
    Column("station_key", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("balance_after", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("order_id", _by_id("orders"), nullable=True),
    Column("price_fen", Integer, nullable=False),
    Column("note", Text, nullable=False),
    UniqueConstraint("customer_id", "product_id", "station_key", "seq", name="uq_ticket_entries_account_seq"),
    CheckConstraint("balance_after >= 0", name="no_overdraw"),
    CheckConstraint("seq >= 1", name="seq_positive"),
    CheckConstraint("station_key = COALESCE(station_id, 0)", name="station_key_matches"),
)

bucket_entries_table = Table(
    "bucket_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", _by_id("customers"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("held_delta", Integer, nullable=False),
    Column("entitlement_delta", Integer, nullable=False),
    Column("held_after", Integer, nullable=False),
    Column("entitlement_after", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("order_id", _by_id("orders"), nullable=True),
    Column("amount_fen", Integer, nullable=False),
    Column("note", Text, nullable=False),
    UniqueConstraint("customer_id", "seq", name="uq_bucket_entries_customer_seq"),
    CheckConstraint("held_after >= 0 AND entitlement_after >= 0", name="not_negative"),
    CheckConstraint("seq >= 1", name="seq_positive"),
)

# ------------------------------------------------------------------ outbox

outbox_table = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(20), nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("template", String(64), nullable=False),
    Column("segments", Integer, nullable=False),
    Column("state", EnumText(OutboxState), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=False),
    Column("provider_message_id", String(100), nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("order_id", _by_id("orders"), nullable=True, index=True),
    Column("customer_id", _by_id("customers"), nullable=True),
    # the delivery worker's query: pending messages whose time has come
    Index("ix_outbox_state_next_attempt", "state", "next_attempt_at"),
)

BUSINESS_TABLES: tuple[Table, ...] = (
    products_table,
    stations_table,
    couriers_table,
    customers_table,
    customer_phones_table,
    addresses_table,
    enterprise_accounts_table,
    orders_table,
    order_items_table,
    order_transitions_table,
    order_sequences_table,
    ticket_entries_table,
    bucket_entries_table,
    outbox_table,
)

mapper_registry = registry(metadata=metadata)


class AppendOnlyViolation(RuntimeError):
    """Code tried to change or delete an append-only record (an order transition)."""


def _refuse_change(_mapper: Mapper[Any], _connection: Any, target: object) -> None:
    raise AppendOnlyViolation(f"{type(target).__name__} records are append-only")


def is_mapped() -> bool:
    """True once ``start_mappers`` has mapped the domain classes."""
    return inspect(Customer, raiseerr=False) is not None


def start_mappers() -> None:
    """Map the domain classes onto the tables; idempotent (mapping is per class, process-wide)."""
    if is_mapped():
        return
    reg = mapper_registry
    reg.map_imperatively(Product, products_table)
    reg.map_imperatively(Station, stations_table)
    reg.map_imperatively(Courier, couriers_table)
    reg.map_imperatively(CustomerPhone, customer_phones_table)
    reg.map_imperatively(Address, addresses_table)
    reg.map_imperatively(EnterpriseAccount, enterprise_accounts_table)
    c = customers_table.c
    reg.map_imperatively(
        Customer,
        customers_table,
        properties={
            # selectin everywhere: a customer is always shown with its phones and addresses, and
            # objects must stay readable after the session closed (the web layer serialises them).
            "phones": relationship(
                CustomerPhone,
                cascade="all, delete-orphan",
                lazy="selectin",
                order_by=customer_phones_table.c.id,
            ),
            "addresses": relationship(
                Address, cascade="all, delete-orphan", lazy="selectin", order_by=addresses_table.c.id
            ),
            # joined: a to-one row rides along in the customer's query instead of costing a round trip
            "enterprise": relationship(
                EnterpriseAccount, cascade="all, delete-orphan", lazy="joined", uselist=False
            ),
            "preferences": composite(
                Preferences, c.usual_product_id, c.usual_quantity, c.window_start, c.window_end
            ),
        },
    )
    reg.map_imperatively(OrderItem, order_items_table)
    reg.map_imperatively(
        OrderTransition, order_transitions_table, properties={"by": order_transitions_table.c.actor}
    )
    reg.map_imperatively(
        Order,
        orders_table,
        properties={
            "items": relationship(
                OrderItem, cascade="all, delete-orphan", lazy="selectin", order_by=order_items_table.c.id
            ),
            "transitions": relationship(
                OrderTransition,
                cascade="save-update, merge",
                lazy="selectin",
                order_by=order_transitions_table.c.id,
            ),
        },
    )
    reg.map_imperatively(OutboxMessage, outbox_table, properties={"to": outbox_table.c.recipient})
    event.listen(OrderTransition, "before_update", _refuse_change)
    event.listen(OrderTransition, "before_delete", _refuse_change)
    reg.configure()
