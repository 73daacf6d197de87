"""SQLAlchemy implementations of the repository ports of ``services.ports``.

Aggregates (customers, orders, products, stations, couriers, outbox messages) are A's domain objects,
mapped by ``orm.start_mappers``: the session tracks changes to them, so the unit of work's commit saves
whatever a handler changed. Ledger entries are frozen values; their repositories convert rows
explicitly and only ever INSERT.

Every repository reads its session through a callable, because the unit of work opens a fresh
session each time it is entered while handlers hold on to ``uow.customers`` and friends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Connection, Integer, Select, and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from waterline.adapters.db.orm import (
    addresses_table,
    bucket_entries_table,
    couriers_table,
    customer_phones_table,
    customers_table,
    enterprise_accounts_table,
    order_items_table,
    order_transitions_table,
    orders_table,
    outbox_table,
    products_table,
    stations_table,
    ticket_entries_table,
)
from waterline.adapters.db.reference import ReferenceCache, read_products, read_stations
from waterline.domain.buckets import BucketAccount, BucketEntry, BucketEntryKind
from waterline.domain.customers import Address, Customer, CustomerPhone, EnterpriseAccount, Preferences
from waterline.domain.errors import Conflict
from waterline.domain.orders import Order, OrderItem
from waterline.domain.outbox import OutboxMessage, OutboxState
from waterline.domain.products import Product
from waterline.domain.stations import Courier, Station
from waterline.domain.tickets import TicketAccount, TicketEntry, TicketEntryKind
from waterline.services.ports import OrderFilter
from waterline.services.queries import ScreenPop

SessionSource = Callable[[], Session]
_Entry = TypeVar("_Entry", TicketEntry, BucketEntry)


def flush_or_conflict(session: Session) -> None:
    """Flush pending changes; a violated unique/check constraint becomes a domain ``Conflict``.

    The session must be rolled back afterwards (the unit of work does so when the error leaves it).
    """
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("conflict", detail=_constraint_hint(exc)) from exc


def _constraint_hint(exc: IntegrityError) -> str:
    # Name the broken constraint (stable, from the naming convention), never echo SQL or values.
    text = str(exc.orig)
    for name in (
        "uq_customer_phones_number",
        "uq_orders_number",
        "uq_products_sku",
        "uq_ticket_entries_account_seq",
        "uq_bucket_entries_customer_seq",
        "uq_couriers_user_id",
    ):
        if name in text:
            return f"concurrent change or duplicate value ({name})"
    if "customer_phones.number" in text:  # SQLite names columns, not constraints
        return "concurrent change or duplicate value (uq_customer_phones_number)"
    return "concurrent change or duplicate value"


class _Repository:
    def __init__(self, session: SessionSource, reference: ReferenceCache | None = None) -> None:
        self._session = session
        # stations and products served by snapshot(); None reads them from the store every time
        self._reference = reference

    @property
    def session(self) -> Session:
        """The session of the unit of work currently entered."""
        return self._session()

    def _add(self, obj: object) -> None:
        self.session.add(obj)
        flush_or_conflict(self.session)


# The screen-pop path runs these on every incoming call: build them once (bound parameters) instead
# of re-assembling the statement objects per call, which costs more than the SQL itself on SQLite.


@cache
def _find_by_phone() -> Select[Any]:
    owner = select(customer_phones_table.c.customer_id).where(
        customer_phones_table.c.number == bindparam("phone")
    )
    return select(Customer).where(customers_table.c.id == owner.scalar_subquery())


@cache
def _latest_ticket_entries() -> Select[Any]:
    t = ticket_entries_table.c
    latest = (
        select(t.product_id, t.station_key, func.max(t.seq).label("seq"))
        .where(t.customer_id == bindparam("customer_id"))
        .group_by(t.product_id, t.station_key)
        .subquery()
    )
    return (
        select(ticket_entries_table)
        .join(
            latest,
            and_(
                t.product_id == latest.c.product_id,
                t.station_key == latest.c.station_key,
                t.seq == latest.c.seq,
            ),
        )
        .where(t.customer_id == bindparam("customer_id"))
        .order_by(t.product_id, t.station_key)
    )


@cache
def _recent_orders() -> Select[Any]:
    o = orders_table.c
    return (
        select(Order)
        .where(o.customer_id == bindparam("customer_id"))
        .order_by(o.placed_at.desc(), o.id.desc())
        .limit(bindparam("limit"))
    )


# Statements every order placement runs (dispatch reads), built once like the screen-pop's.


@cache
def _all_stations() -> Select[Any]:
    return select(Station).order_by(stations_table.c.id)


@cache
def _couriers_of_station() -> Select[Any]:
    c = couriers_table.c
    return select(Courier).where(c.station_id == bindparam("station_id")).order_by(c.id)


@cache
def _station_couriers() -> Select[Any]:
    c = couriers_table.c
    return select(couriers_table).where(c.station_id == bindparam("station_id")).order_by(c.id)


@cache
def _reserve_courier() -> Any:
    c = couriers_table.c
    units = bindparam("units", type_=Integer)
    return (
        update(couriers_table)
        .where(c.id == bindparam("courier_id"), c.on_duty.is_(True), c.load + units <= c.capacity_per_trip)
        .values(load=c.load + units, active_orders=c.active_orders + 1)
        .returning(*couriers_table.c)
    )


def _courier_copy(row: RowMapping) -> Courier:
    return Courier(
        station_id=row["station_id"],
        name=row["name"],
        mobile=row["mobile"],
        capacity_per_trip=row["capacity_per_trip"],
        on_duty=row["on_duty"],
        load=row["load"],
        active_orders=row["active_orders"],
        user_id=row["user_id"],
        id=row["id"],
    )


@cache
def _touch_courier() -> Any:
    c = couriers_table.c
    return update(couriers_table).where(c.id == bindparam("courier_id")).values(id=c.id)


class SqlAlchemyCustomerRepository(_Repository):
    """Customers with phones, addresses and enterprise terms (eagerly loaded)."""

    def add(self, customer: Customer) -> Customer:
        """Persist a new customer; assigns ids to it, its phones and addresses."""
        self._add(customer)
        return customer

    def get(self, customer_id: int) -> Customer | None:
        """The customer with this id, or None.

        Every order placement reads its customer, so the rows come through two Core statements
        (customer with phones, addresses) instead of the ORM's three loader queries; the objects then
        join the session as persistent, exactly as if loaded, so changes to them are saved. A customer
        already in the session, or with an enterprise account (rare), takes the ORM path.
        """
        session = self.session
        if identity_key(Customer, customer_id) in session.identity_map:
            return session.get(Customer, customer_id)
        rows = list(session.execute(_customer_with_phones(), {"customer_id": customer_id}).mappings())
        if not rows:
            return None
        if rows[0]["has_enterprise"]:
            return session.get(Customer, customer_id)
        addresses = [
            _pop_address(row)
            for row in session.execute(_pop_addresses(), {"customer_id": customer_id}).mappings()
        ]
        customer = _pop_customer_of(rows, addresses)
        children: list[object] = [*customer.phones, *customer.addresses]
        if any(identity_key(instance=child) in session.identity_map for child in children):
            return session.get(Customer, customer_id)  # pragma: no cover - a child loaded on its own
        for child in children:
            # the foreign key the relationship would have loaded
            setattr(child, "customer_id", customer_id)  # noqa: B010 - mapped column, not a domain field
        _attach(session, customer, *children)
        return customer

    def find_by_phone(self, phone: str) -> Customer | None:
        """The customer owning this canonical phone (one unique-index probe), or None."""
        return self.session.scalars(_find_by_phone(), {"phone": phone}).first()

    def search(
        self, *, q: str | None = None, phone: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[Customer]:
        """Customers whose name/address contains ``q`` and/or whose phone starts with ``phone``, by id."""
        stmt = select(Customer).order_by(customers_table.c.id)
        if q:
            a = addresses_table.c
            in_address = exists().where(
                a.customer_id == customers_table.c.id,
                (a.city + a.district + a.detail).icontains(q, autoescape=True),
            )
            stmt = stmt.where(or_(customers_table.c.name.icontains(q, autoescape=True), in_address))
        if phone:
            p = customer_phones_table.c
            stmt = stmt.where(
                exists().where(
                    p.customer_id == customers_table.c.id, p.number.startswith(phone, autoescape=True)
                )
            )
        return list(self.session.scalars(stmt.limit(limit).offset(offset)))


class SqlAlchemyProductRepository(_Repository):
    """The product catalogue."""

    def add(self, product: Product) -> Product:
        """Persist a new product (assigns its id); ``Conflict`` on a duplicate SKU."""
        self._add(product)
        return product

    def get(self, product_id: int) -> Product | None:
        """The product with this id, or None."""
        return self.session.get(Product, product_id)

    def all(self, *, active_only: bool = False) -> list[Product]:
        """All products by id."""
        stmt = select(Product).order_by(products_table.c.id)
        if active_only:
            stmt = stmt.where(products_table.c.active.is_(True))
        return list(self.session.scalars(stmt))

    def snapshot(self) -> Mapping[int, Product]:
        """Every product by id as read-only copies (from the store's ``ReferenceCache`` when it has one)."""
        if self._reference is None:
            return read_products(self.session)
        return self._reference.products(self.session)


class SqlAlchemyStationRepository(_Repository):
    """Delivery stations."""

    def add(self, station: Station) -> Station:
        """Persist a new station (assigns its id)."""
        self._add(station)
        return station

    def get(self, station_id: int) -> Station | None:
        """The station with this id, or None."""
        return self.session.get(Station, station_id)

    def all(self) -> list[Station]:
        """All stations by id."""
        return list(self.session.scalars(_all_stations()))

    def snapshot(self) -> Sequence[Station]:
        """All stations by id as read-only copies (from the store's ``ReferenceCache`` when it has one)."""
        if self._reference is None:
            return read_stations(self.session)
        return self._reference.stations(self.session)


class SqlAlchemyCourierRepository(_Repository):
    """Couriers; ``get`` locks the row on PostgreSQL because the caller is about to change his load."""

    def add(self, courier: Courier) -> Courier:
        """Persist a new courier (assigns its id)."""
        self._add(courier)
        return courier

    def get(self, courier_id: int) -> Courier | None:
        """The courier with this id, re-read under ``SELECT ... FOR UPDATE`` (a no-op on SQLite).

        Pending changes are flushed first, so re-reading never loses an in-memory change.
        """
        flush_or_conflict(self.session)
        if self.session.get_bind().dialect.name == "sqlite":
            # SQLite ignores FOR UPDATE: a no-op write takes the database's write lock instead, so
            # the row read next cannot change under us before commit.
            self.session.execute(_touch_courier(), {"courier_id": courier_id})
        return self.session.get(Courier, courier_id, with_for_update=True, populate_existing=True)

    def all(self, *, station_id: int | None = None) -> list[Courier]:
        """Couriers (of one station when given) by id."""
        if station_id is not None:
            return list(self.session.scalars(_couriers_of_station(), {"station_id": station_id}))
        return list(self.session.scalars(select(Courier).order_by(couriers_table.c.id)))

    def find_by_user(self, user_id: int) -> Courier | None:
        """The courier whose login is ``user_id``, or None."""
        return self.session.scalars(select(Courier).where(couriers_table.c.user_id == user_id)).first()

    def candidates(self, station_id: int) -> list[Courier]:
        """The station's couriers by id, as copies outside the session (one Core SELECT, no locks)."""
        rows = self.session.execute(_station_couriers(), {"station_id": station_id}).mappings()
        return [_courier_copy(row) for row in rows]

    def reserve(self, courier_id: int, units: int) -> Courier | None:
        """Book ``units`` onto the courier if he is on duty and they fit: one ``UPDATE ... WHERE ...
        RETURNING`` that also takes his row lock (PostgreSQL) or the write lock (SQLite) until commit,
        instead of a locked read and a later UPDATE. A copy of him as booked, or None."""
        flush_or_conflict(self.session)  # pending changes to him first, as ``get`` does
        row = (
            self.session.execute(_reserve_courier(), {"courier_id": courier_id, "units": units})
            .mappings()
            .first()
        )
        if row is None:
            return None
        booked = _courier_copy(row)
        loaded = self.session.identity_map.get(identity_key(Courier, courier_id))
        if loaded is not None:
            # keep an object loaded earlier in this unit of work in step, without marking it changed
            set_committed_value(loaded, "load", booked.load)
            set_committed_value(loaded, "active_orders", booked.active_orders)
        return booked


@cache
def _insert_order() -> Any:
    return insert(orders_table).returning(orders_table.c.id)


@cache
def _insert_items() -> Any:
    return insert(order_items_table).returning(order_items_table.c.id, sort_by_parameter_order=True)


@cache
def _insert_transitions() -> Any:
    return insert(order_transitions_table).returning(
        order_transitions_table.c.id, sort_by_parameter_order=True
    )


@cache
def _insert_outbox() -> Any:
    return insert(outbox_table).returning(outbox_table.c.id)


def _attach(session: Session, obj: object, *children: object) -> None:
    # Rows just written with Core: make the objects persistent as if loaded, so later changes to
    # them in this unit of work are flushed as UPDATEs (the ORM's insert flush cost more than the SQL).
    for each in (*children, obj):
        make_transient_to_detached(each)
    session.add(obj)


class SqlAlchemyOrderRepository(_Repository):
    """Orders with their items and transition records (eagerly loaded)."""

    def add(self, order: Order) -> Order:
        """Persist a new order; assigns ids to it, its items and transitions.

        Placement is the hot write path: the rows go in as three Core INSERTs (order, items,
        transitions) instead of an ORM flush, and the objects then join the session as persistent.
        """
        session = self.session
        flush_or_conflict(session)  # rows the order refers to (a customer added in this block)
        o = order
        order_id = _insert_row(
            session,
            _insert_order(),
            {
                "number": o.number,
                "customer_id": o.customer_id,
                "address_id": o.address_id,
                "channel": o.channel,
                "placed_at": o.placed_at,
                "state": o.state,
                "window_start": o.window_start,
                "window_end": o.window_end,
                "station_id": o.station_id,
                "courier_id": o.courier_id,
                "eta": o.eta,
                "pay_with_tickets": o.pay_with_tickets,
                "tickets_used": o.tickets_used,
                "empties_collected": o.empties_collected,
                "note": o.note,
                "cancel_reason": o.cancel_reason,
            },
        )
        order.id = order_id
        if order.items:
            ids = _insert_rows(
                session,
                _insert_items(),
                [
                    {
                        "order_id": order_id,
                        "product_id": i.product_id,
                        "quantity": i.quantity,
                        "unit_price_fen": i.unit_price_fen,
                        "paid_with_tickets": i.paid_with_tickets,
                    }
                    for i in order.items
                ],
            )
            for item, item_id in zip(order.items, ids, strict=True):
                item.id = item_id
        if order.transitions:
            ids = _insert_rows(
                session,
                _insert_transitions(),
                [
                    {
                        "order_id": order_id,
                        "from_state": t.from_state,
                        "to_state": t.to_state,
                        "at": t.at,
                        "actor": t.by,
                        "reason": t.reason,
                    }
                    for t in order.transitions
                ],
            )
            for record, record_id in zip(order.transitions, ids, strict=True):
                record.id = record_id
        _attach(session, order, *order.items, *order.transitions)
        return order

    def get(self, order_id: int) -> Order | None:
        """The order with this id, or None."""
        return self.session.get(Order, order_id)

    def get_by_number(self, number: str) -> Order | None:
        """The order with this human number, or None."""
        return self.session.scalars(select(Order).where(orders_table.c.number == number)).first()

    def search(self, criteria: OrderFilter) -> list[Order]:
        """Orders matching ``criteria``, newest ``placed_at`` first (then highest id)."""
        o = orders_table.c
        conditions: list[Any] = []
        if criteria.state is not None:
            conditions.append(o.state == criteria.state)
        if criteria.station_id is not None:
            conditions.append(o.station_id == criteria.station_id)
        if criteria.courier_id is not None:
            conditions.append(o.courier_id == criteria.courier_id)
        if criteria.customer_id is not None:
            conditions.append(o.customer_id == criteria.customer_id)
        if criteria.placed_from is not None:
            conditions.append(o.placed_at >= criteria.placed_from)
        if criteria.placed_to is not None:
            conditions.append(o.placed_at < criteria.placed_to)
        stmt = select(Order).where(and_(True, *conditions))
        stmt = stmt.order_by(o.placed_at.desc(), o.id.desc()).limit(criteria.limit).offset(criteria.offset)
        return list(self.session.scalars(stmt))

    def recent_for_customer(self, customer_id: int, limit: int = 5) -> list[Order]:
        """The customer's last ``limit`` orders, newest first (served by ix_orders_customer_placed)."""
        return list(self.session.scalars(_recent_orders(), {"customer_id": customer_id, "limit": limit}))


def _ticket_entry(row: RowMapping) -> TicketEntry:
    return TicketEntry(
        customer_id=row["customer_id"],
        product_id=row["product_id"],
        station_id=row["station_id"],
        kind=TicketEntryKind(row["kind"]),
        quantity=row["quantity"],
        balance_after=row["balance_after"],
        seq=row["seq"],
        at=row["at"],
        by=row["actor"],
        order_id=row["order_id"],
        price_fen=row["price_fen"],
        note=row["note"],
        id=row["id"],
    )


def _account_from(row: RowMapping) -> TicketAccount:
    return TicketAccount(
        customer_id=row["customer_id"],
        product_id=row["product_id"],
        station_id=row["station_id"],
        balance=row["balance_after"],
        last_seq=row["seq"],
    )


class SqlAlchemyTicketRepository(_Repository):
    """The water-ticket ledger: INSERTs only; a balance is the ``balance_after`` of the latest entry."""

    def account(self, customer_id: int, product_id: int, station_id: int | None) -> TicketAccount:
        """The account's state from its latest entry (an empty account when it has none)."""
        t = ticket_entries_table.c
        row = (
            self.session.execute(
                select(ticket_entries_table)
                .where(
                    t.customer_id == customer_id,
                    t.product_id == product_id,
                    t.station_key == (station_id or 0),
                )
                .order_by(t.seq.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        if row is None:
            return TicketAccount(customer_id=customer_id, product_id=product_id, station_id=station_id)
        return _account_from(row)

    def accounts(self, customer_id: int) -> list[TicketAccount]:
        """Every account of the customer that has entries, ordered by (product_id, station_id or 0)."""
        rows = self.session.execute(_latest_ticket_entries(), {"customer_id": customer_id}).mappings()
        return [_account_from(row) for row in rows]

    def append(self, entry: TicketEntry) -> TicketEntry:
        """Insert one entry and return it with its id; ``Conflict`` when its (account, seq) exists."""
        flush_or_conflict(self.session)  # rows the entry refers to (its order) must exist first
        values = {
            "customer_id": entry.customer_id,
            "product_id": entry.product_id,
            "station_id": entry.station_id,
            "station_key": entry.station_id or 0,
            "kind": entry.kind.value,
            "quantity": entry.quantity,
            "balance_after": entry.balance_after,
            "seq": entry.seq,
            "at": entry.at,
            "actor": entry.by,
            "order_id": entry.order_id,
            "price_fen": entry.price_fen,
            "note": entry.note,
        }
        new_id = _insert(self.session, insert(ticket_entries_table).values(values), ticket_entries_table.c.id)
        return _with_id(entry, new_id)

    def entries(self, customer_id: int, product_id: int | None = None) -> list[TicketEntry]:
        """The customer's entries, oldest first."""
        t = ticket_entries_table.c
        stmt = select(ticket_entries_table).where(t.customer_id == customer_id)
        if product_id is not None:
            stmt = stmt.where(t.product_id == product_id)
        rows = self.session.execute(stmt.order_by(t.at, t.id)).mappings()
        return [_ticket_entry(row) for row in rows]


def _bucket_entry(row: RowMapping) -> BucketEntry:
    return BucketEntry(
        customer_id=row["customer_id"],
        kind=BucketEntryKind(row["kind"]),
        held_delta=row["held_delta"],
        entitlement_delta=row["entitlement_delta"],
        held_after=row["held_after"],
        entitlement_after=row["entitlement_after"],
        seq=row["seq"],
        at=row["at"],
        by=row["actor"],
        order_id=row["order_id"],
        amount_fen=row["amount_fen"],
        note=row["note"],
        id=row["id"],
    )


class SqlAlchemyBucketRepository(_Repository):
    """The bucket/deposit ledger: INSERTs only; the position is the latest entry's running state."""

    def account(self, customer_id: int) -> BucketAccount:
        """The customer's bucket position from the latest entry (zeros when none)."""
        b = bucket_entries_table.c
        row = (
            self.session.execute(
                select(b.entitlement_after, b.held_after, b.seq)
                .where(b.customer_id == customer_id)
                .order_by(b.seq.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        if row is None:
            return BucketAccount(customer_id=customer_id)
        return BucketAccount(
            customer_id=customer_id,
            entitlement=row["entitlement_after"],
            held=row["held_after"],
            last_seq=row["seq"],
        )

    def append(self, entry: BucketEntry) -> BucketEntry:
        """Insert one entry and return it with its id; ``Conflict`` when its (customer, seq) exists."""
        flush_or_conflict(self.session)
        values = {
            "customer_id": entry.customer_id,
            "kind": entry.kind.value,
            "held_delta": entry.held_delta,
            "entitlement_delta": entry.entitlement_delta,
            "held_after": entry.held_after,
            "entitlement_after": entry.entitlement_after,
            "seq": entry.seq,
            "at": entry.at,
            "actor": entry.by,
            "order_id": entry.order_id,
            "amount_fen": entry.amount_fen,
            "note": entry.note,
        }
        new_id = _insert(self.session, insert(bucket_entries_table).values(values), bucket_entries_table.c.id)
        return _with_id(entry, new_id)

    def entries(self, customer_id: int) -> list[BucketEntry]:
        """The customer's entries, oldest first."""
        b = bucket_entries_table.c
        rows = self.session.execute(
            select(bucket_entries_table).where(b.customer_id == customer_id).order_by(b.seq)
        ).mappings()
        return [_bucket_entry(row) for row in rows]


def _insert_row(session: Session, stmt: Any, params: dict[str, Any]) -> int:
    # a cached INSERT ... RETURNING id with this row's parameters
    try:
        return int(session.execute(stmt, params).scalar_one())
    except IntegrityError as exc:
        raise Conflict("conflict", detail=_constraint_hint(exc)) from exc


def _insert_rows(session: Session, stmt: Any, rows: list[dict[str, Any]]) -> list[int]:
    # several rows in one statement (insertmanyvalues); ids come back in the rows' order
    try:
        return [int(i) for i in session.execute(stmt, rows).scalars()]
    except IntegrityError as exc:
        raise Conflict("conflict", detail=_constraint_hint(exc)) from exc


def _insert(session: Session, stmt: Any, id_column: Any) -> int:
    try:
        return int(session.execute(stmt.returning(id_column)).scalar_one())
    except IntegrityError as exc:
        raise Conflict("conflict", detail=_constraint_hint(exc)) from exc


def _with_id(entry: _Entry, new_id: int) -> _Entry:
    return replace(entry, id=new_id)


class SqlAlchemyOutboxRepository(_Repository):
    """Outbox messages (the SMS log)."""

    def add(self, message: OutboxMessage) -> OutboxMessage:
        """Persist a new message (assigns its id): one Core INSERT, then persistent in the session."""
        session = self.session
        flush_or_conflict(session)  # the order the message refers to
        m = message
        message.id = _insert_row(
            session,
            _insert_outbox(),
            {
                "channel": m.channel,
                "recipient": m.to,
                "text": m.text,
                "template": m.template,
                "segments": m.segments,
                "state": m.state,
                "attempts": m.attempts,
                "next_attempt_at": m.next_attempt_at,
                "last_error": m.last_error,
                "provider_message_id": m.provider_message_id,
                "sent_at": m.sent_at,
                "created_at": m.created_at,
                "order_id": m.order_id,
                "customer_id": m.customer_id,
            },
        )
        _attach(session, message)
        return message

    def get(self, message_id: int) -> OutboxMessage | None:
        """The message with this id, or None."""
        return self.session.get(OutboxMessage, message_id)

    def due(self, now: datetime, limit: int) -> list[OutboxMessage]:
        """Pending messages whose time has come, oldest first, at most ``limit``.

        On PostgreSQL the rows are locked with SKIP LOCKED, so two delivery workers never take the
        same message; SQLite serialises writers anyway and ignores the clause.
        """
        m = outbox_table.c
        stmt = (
            select(OutboxMessage)
            .where(
                m.state == OutboxState.PENDING,
                or_(m.next_attempt_at.is_(None), m.next_attempt_at <= now),
            )
            .order_by(m.created_at, m.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self.session.scalars(stmt))

    def search(
        self,
        *,
        order_id: int | None = None,
        to: str | None = None,
        state: OutboxState | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[OutboxMessage]:
        """The SMS log, newest first."""
        m = outbox_table.c
        stmt = select(OutboxMessage)
        if order_id is not None:
            stmt = stmt.where(m.order_id == order_id)
        if to is not None:
            stmt = stmt.where(m.recipient == to)
        if state is not None:
            stmt = stmt.where(m.state == state)
        stmt = stmt.order_by(m.created_at.desc(), m.id.desc()).limit(limit).offset(offset)
        return list(self.session.scalars(stmt))


# ------------------------------------------------------------------ the screen-pop read path
#
# Every incoming call runs this, so it skips the ORM: plain Core statements on the session's
# connection (no identity map, no eager-loader round trips, no flush checks) whose rows become domain
# objects directly. Four statements: the customer with all phones, enterprise terms and bucket
# position; addresses; the last orders with their items; the ticket balances. The orders' transition
# records are not read: the screen shows summaries, and building a dozen instrumented objects per call
# cost a fifth of the lookup.


@cache
def _pop_customer() -> Select[Any]:
    c = customers_table
    hit = customer_phones_table.alias("hit")
    p = customer_phones_table
    e = enterprise_accounts_table
    b = bucket_entries_table
    # the bucket position is the latest ledger row: one probe of uq_bucket_entries_customer_seq
    latest_seq = select(func.max(b.c.seq)).where(b.c.customer_id == c.c.id).correlate(c).scalar_subquery()
    return (
        select(
            c,
            p.c.id.label("phone_id"),
            p.c.number.label("phone_number"),
            p.c.label.label("phone_label"),
            e.c.customer_id.label("enterprise_customer_id"),
            e.c.company_name,
            e.c.credit_limit_fen,
            e.c.payment_terms_days,
            e.c.tax_id,
            b.c.entitlement_after,
            b.c.held_after,
            b.c.seq.label("bucket_seq"),
        )
        .select_from(
            hit.join(c, c.c.id == hit.c.customer_id)
            .join(p, p.c.customer_id == c.c.id)
            .outerjoin(e, e.c.customer_id == c.c.id)
            .outerjoin(b, and_(b.c.customer_id == c.c.id, b.c.seq == latest_seq))
        )
        .where(hit.c.number == bindparam("phone"))
        .order_by(p.c.id)
    )


@cache
def _customer_with_phones() -> Select[Any]:
    c = customers_table
    p = customer_phones_table
    e = enterprise_accounts_table
    has_enterprise = select(e.c.customer_id).where(e.c.customer_id == c.c.id).correlate(c).exists()
    return (
        select(
            c,
            p.c.id.label("phone_id"),
            p.c.number.label("phone_number"),
            p.c.label.label("phone_label"),
            has_enterprise.label("has_enterprise"),
        )
        .select_from(c.outerjoin(p, p.c.customer_id == c.c.id))
        .where(c.c.id == bindparam("customer_id"))
        .order_by(p.c.id)
    )


@cache
def _pop_addresses() -> Select[Any]:
    a = addresses_table.c
    return select(addresses_table).where(a.customer_id == bindparam("customer_id")).order_by(a.id)


@cache
def _pop_orders() -> Select[Any]:
    o = orders_table.c
    i = order_items_table.c
    recent = (
        select(orders_table)
        .where(o.customer_id == bindparam("customer_id"))
        .order_by(o.placed_at.desc(), o.id.desc())
        .limit(bindparam("limit"))
        .subquery("recent")
    )
    return (
        select(
            recent,
            i.id.label("item_id"),
            i.product_id,
            i.quantity,
            i.unit_price_fen,
            i.paid_with_tickets,
        )
        .select_from(recent.outerjoin(order_items_table, i.order_id == recent.c.id))
        .order_by(recent.c.placed_at.desc(), recent.c.id.desc(), i.id)
    )


def _pop_customer_of(rows: list[RowMapping], addresses: list[Address]) -> Customer:
    first = rows[0]
    enterprise = None
    if first.get("enterprise_customer_id") is not None:
        enterprise = EnterpriseAccount(
            company_name=first["company_name"],
            credit_limit_fen=first["credit_limit_fen"],
            payment_terms_days=first["payment_terms_days"],
            tax_id=first["tax_id"],
        )
    return Customer(
        name=first["name"],
        phones=[
            CustomerPhone(number=row["phone_number"], label=row["phone_label"], id=row["phone_id"])
            for row in rows
            if row["phone_id"] is not None  # a customer without phones (outer join)
        ],
        addresses=addresses,
        preferences=Preferences(
            usual_product_id=first["usual_product_id"],
            usual_quantity=first["usual_quantity"],
            window_start=first["window_start"],
            window_end=first["window_end"],
        ),
        tier=first["tier"],
        tags=list(first["tags"] or []),
        notes=first["notes"],
        enterprise=enterprise,
        id=first["id"],
    )


def _pop_address(row: RowMapping) -> Address:
    return Address(
        city=row["city"],
        district=row["district"],
        detail=row["detail"],
        floor=row["floor"],
        has_elevator=row["has_elevator"],
        lat=row["lat"],
        lon=row["lon"],
        station_override_id=row["station_override_id"],
        is_default=row["is_default"],
        id=row["id"],
    )


def _pop_orders_of(rows: list[RowMapping]) -> list[Order]:
    orders: dict[int, Order] = {}  # insertion order is the statement's: newest first
    for row in rows:
        order = orders.get(row["id"])
        if order is None:
            order = orders[row["id"]] = Order(
                number=row["number"],
                customer_id=row["customer_id"],
                address_id=row["address_id"],
                channel=row["channel"],
                placed_at=row["placed_at"],
                state=row["state"],
                window_start=row["window_start"],
                window_end=row["window_end"],
                station_id=row["station_id"],
                courier_id=row["courier_id"],
                eta=row["eta"],
                pay_with_tickets=row["pay_with_tickets"],
                tickets_used=row["tickets_used"],
                empties_collected=row["empties_collected"],
                note=row["note"],
                cancel_reason=row["cancel_reason"],
                id=row["id"],
            )
        if row["item_id"] is not None:
            order.items.append(
                OrderItem(
                    product_id=row["product_id"],
                    quantity=row["quantity"],
                    unit_price_fen=row["unit_price_fen"],
                    paid_with_tickets=row["paid_with_tickets"],
                    id=row["item_id"],
                )
            )
    return list(orders.values())


def read_screen_pop(connection: Connection, number: str, orders: int) -> ScreenPop | None:
    """The screen-pop of the customer owning the canonical ``number`` (None when nobody does).

    Read-only and without the ORM session: the objects returned are detached copies for display,
    equal in content to what the repositories load (phones, addresses and items by id, orders newest
    first, ticket accounts by product and station), except that the orders' ``transitions`` are left
    empty.
    """
    customer_rows = list(connection.execute(_pop_customer(), {"phone": number}).mappings())
    if not customer_rows:
        return None
    customer_id = customer_rows[0]["id"]
    addresses = [
        _pop_address(row)
        for row in connection.execute(_pop_addresses(), {"customer_id": customer_id}).mappings()
    ]
    customer = _pop_customer_of(customer_rows, addresses)
    last_orders = _pop_orders_of(
        list(connection.execute(_pop_orders(), {"customer_id": customer_id, "limit": orders}).mappings())
    )
    tickets = [
        _account_from(row)
        for row in connection.execute(_latest_ticket_entries(), {"customer_id": customer_id}).mappings()
    ]
    first = customer_rows[0]
    buckets = BucketAccount(customer_id=customer_id)
    if first["bucket_seq"] is not None:
        buckets = BucketAccount(
            customer_id=customer_id,
            entitlement=first["entitlement_after"],
            held=first["held_after"],
            last_seq=first["bucket_seq"],
        )
    return ScreenPop(customer=customer, last_orders=last_orders, tickets=tickets, buckets=buckets)
