"""Ports: what the service layer needs from the outside world, as ``typing.Protocol``s.

Adapters (the SQLAlchemy store, SMS gateways, the system clock) implement these; tests use the fakes
in ``tests/fakes.py``. Conventions every implementation keeps:

- ``add`` makes the object persistent *and gives it (and its children) ids* before returning, so a
  handler can refer to ``order.id`` in the same transaction (SQLAlchemy: ``session.add`` + ``flush``).
- Objects returned by ``get``/``list`` are tracked: changing their attributes and then calling
  ``UnitOfWork.commit`` saves the change. Children appended later (a customer's new address, an order's
  transitions) get their ids at ``UnitOfWork.flush`` or commit.
- Ledger repositories (tickets, buckets) only ever insert. (account, seq) is unique, so two
  transactions spending the same balance cannot both commit; the loser raises ``Conflict``.
- Phones passed to lookups are canonical (``domain.phones.normalise``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Protocol, Self

from waterline.calls.queue import QueueConfig, QueueMember
from waterline.domain.agents import AgentContact, AgentStateChange, AgentStatus, QueuePurpose
from waterline.domain.buckets import BucketAccount, BucketEntry
from waterline.domain.callrecords import CallOutcome, CallRecord
from waterline.domain.customers import Customer
from waterline.domain.events import Event
from waterline.domain.flows import DidRoute, FlowSummary, FlowVersion
from waterline.domain.locality import Locality
from waterline.domain.orders import Order, OrderState
from waterline.domain.outbox import OutboxMessage, OutboxState
from waterline.domain.overrides import HolidayOverride
from waterline.domain.products import Product
from waterline.domain.queuelog import QueueLogRecord
from waterline.domain.stations import Courier, Station
from waterline.domain.tasks import Complaint, Task, TaskKind, TaskState
from waterline.domain.tickets import TicketAccount, TicketEntry


@dataclass(frozen=True)
class OrderFilter:
    """Criteria of an order listing; ``None`` means "any". Dates bound ``placed_at`` (UTC, half-open)."""

    state: OrderState | None = None
    station_id: int | None = None
    courier_id: int | None = None
    customer_id: int | None = None
    placed_from: datetime | None = None
    placed_to: datetime | None = None
    limit: int = 50
    offset: int = 0


class CustomerRepository(Protocol):
    """Customers with their phones and addresses."""

    def add(self, customer: Customer) -> Customer:
        """Persist a new customer; assigns ids to it, its phones and addresses."""
        ...

    def get(self, customer_id: int) -> Customer | None:
        """The customer with this id, or None."""
        ...

    def find_by_phone(self, phone: str) -> Customer | None:
        """The customer owning this canonical phone, or None (a phone belongs to one customer)."""
        ...

    def search(
        self, *, q: str | None = None, phone: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[Customer]:
        """Customers whose name/address contains ``q`` and/or whose phone starts with ``phone``, by id."""
        ...


class ProductRepository(Protocol):
    """The product catalogue."""

    def add(self, product: Product) -> Product:
        """Persist a new product (assigns its id)."""
        ...

    def get(self, product_id: int) -> Product | None:
        """The product with this id, or None."""
        ...

    def all(self, *, active_only: bool = False) -> list[Product]:
        """All products by id."""
        ...

    def snapshot(self) -> Mapping[int, Product]:
        """Every product by id, as read-only copies for pricing (a SQL store may serve them from a
        cache that follows its own commits at once and other processes' within seconds). Changing a
        copy changes nothing: edit through ``get``."""
        ...


class StationRepository(Protocol):
    """Delivery stations."""

    def add(self, station: Station) -> Station:
        """Persist a new station (assigns its id)."""
        ...

    def get(self, station_id: int) -> Station | None:
        """The station with this id, or None."""
        ...

    def all(self) -> list[Station]:
        """All stations by id (a business has tens, so dispatch may load them all)."""
        ...

    def snapshot(self) -> Sequence[Station]:
        """All stations by id, as read-only copies for decisions (dispatch, opening hours; cached like
        ``ProductRepository.snapshot``). Changing a copy changes nothing: edit through ``get``/``all``."""
        ...


class CourierRepository(Protocol):
    """Couriers and their current load."""

    def add(self, courier: Courier) -> Courier:
        """Persist a new courier (assigns its id)."""
        ...

    def get(self, courier_id: int) -> Courier | None:
        """The courier with this id, or None. SQL stores should lock the row (FOR UPDATE): load changes."""
        ...

    def all(self, *, station_id: int | None = None) -> list[Courier]:
        """Couriers (of one station when given) by id."""
        ...

    def find_by_user(self, user_id: int) -> Courier | None:
        """The courier whose login is ``user_id`` (a courier sees only his own deliveries)."""
        ...

    def candidates(self, station_id: int) -> list[Courier]:
        """The station's couriers by id as read-only copies, read without locks, for choosing one;
        book the chosen one with ``reserve`` (his load may have changed meanwhile)."""
        ...

    def reserve(self, courier_id: int, units: int) -> Courier | None:
        """Book ``units`` onto the courier in one step, if he is on duty and they fit (SQL stores: one
        conditional UPDATE, which also holds his row until commit). Returns a read-only copy with the
        load after booking; None, booking nothing, when he is off duty, full or unknown."""
        ...


class OrderRepository(Protocol):
    """Orders with items and transition records."""

    def add(self, order: Order) -> Order:
        """Persist a new order; assigns ids to it, its items and transitions."""
        ...

    def get(self, order_id: int) -> Order | None:
        """The order with this id, or None."""
        ...

    def get_by_number(self, number: str) -> Order | None:
        """The order with this human number, or None."""
        ...

    def search(self, criteria: OrderFilter) -> list[Order]:
        """Orders matching ``criteria``, newest ``placed_at`` first."""
        ...

    def recent_for_customer(self, customer_id: int, limit: int = 5) -> list[Order]:
        """The customer's last ``limit`` orders, newest first (screen-pop)."""
        ...


class TicketRepository(Protocol):
    """The append-only water-ticket ledger."""

    def account(self, customer_id: int, product_id: int, station_id: int | None) -> TicketAccount:
        """The account's state from its latest entry (an empty account when it has none)."""
        ...

    def accounts(self, customer_id: int) -> list[TicketAccount]:
        """Every account of the customer that has entries, ordered by (product_id, station_id or 0)."""
        ...

    def append(self, entry: TicketEntry) -> TicketEntry:
        """Insert one entry; ``Conflict`` when its (account, seq) already exists."""
        ...

    def entries(self, customer_id: int, product_id: int | None = None) -> list[TicketEntry]:
        """The customer's entries, oldest first."""
        ...


class BucketRepository(Protocol):
    """The append-only bucket/deposit ledger."""

    def account(self, customer_id: int) -> BucketAccount:
        """The customer's bucket position from the latest entry (zeros when none)."""
        ...

    def append(self, entry: BucketEntry) -> BucketEntry:
        """Insert one entry; ``Conflict`` when its (customer, seq) already exists."""
        ...

    def entries(self, customer_id: int) -> list[BucketEntry]:
        """The customer's entries, oldest first."""
        ...


class OutboxRepository(Protocol):
    """Messages waiting to leave the process."""

    def add(self, message: OutboxMessage) -> OutboxMessage:
        """Persist a new message (assigns its id)."""
        ...

    def get(self, message_id: int) -> OutboxMessage | None:
        """The message with this id, or None."""
        ...

    def due(self, now: datetime, limit: int) -> list[OutboxMessage]:
        """Pending messages whose ``next_attempt_at`` <= ``now``, oldest first, at most ``limit``."""
        ...

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
        ...


@dataclass(frozen=True)
class CallFilter:
    """Criteria of a call-record listing; ``None`` means "any". Dates bound ``started_at`` (half-open)."""

    started_from: datetime | None = None
    started_to: datetime | None = None
    caller: str | None = None
    outcome: CallOutcome | None = None
    limit: int = 50
    offset: int = 0


class FlowRepository(Protocol):
    """Versioned call flows and the DIDs routed to them."""

    def add_version(self, name: str, text: str, *, author: str, at: datetime) -> FlowVersion:
        """Save ``text`` as the next version of flow ``name`` (creating the flow at version 1)."""
        ...

    def get_version(self, name: str, version: int) -> FlowVersion | None:
        """One version of a flow, or None."""
        ...

    def versions(self, name: str) -> list[FlowVersion]:
        """Every version of the flow, newest first."""
        ...

    def get(self, name: str) -> FlowSummary | None:
        """The flow's summary, or None when no version was ever saved."""
        ...

    def all(self) -> list[FlowSummary]:
        """Every flow, by name."""
        ...

    def publish(self, name: str, version: int, *, at: datetime) -> FlowSummary:
        """Make ``version`` the current one (the caller checked it exists)."""
        ...

    def routes(self) -> list[DidRoute]:
        """Every DID and its flow, by DID."""
        ...

    def set_route(self, did: str, flow_name: str, *, at: datetime) -> DidRoute:
        """Route ``did`` (normalised) to ``flow_name`` (the caller checked the flow exists)."""
        ...

    def remove_route(self, did: str) -> bool:
        """Stop routing ``did``; False when it was not routed."""
        ...

    def current_for_did(self, did: str) -> FlowVersion | None:
        """The published version of the flow ``did`` routes to; None when unrouted or unpublished."""
        ...


class CallRecordRepository(Protocol):
    """Call detail records."""

    def add(self, record: CallRecord) -> CallRecord:
        """Persist a new record (assigns its id); ``Conflict`` when its call id is already recorded."""
        ...

    def get(self, record_id: int) -> CallRecord | None:
        """The record with this id, or None."""
        ...

    def get_by_call_id(self, call_id: str) -> CallRecord | None:
        """The record of this SIP Call-ID, or None."""
        ...

    def save(self, record: CallRecord) -> None:
        """Write back a changed record (its id is set)."""
        ...

    def search(self, criteria: CallFilter) -> list[CallRecord]:
        """Records matching ``criteria``, newest ``started_at`` first."""
        ...

    def open_records(self) -> list[CallRecord]:
        """Records not closed yet, oldest first."""
        ...


class TaskRepository(Protocol):
    """Call-back tasks."""

    def add(self, task: Task) -> Task:
        """Persist a new task (assigns its id)."""
        ...

    def get(self, task_id: int) -> Task | None:
        """The task with this id, or None."""
        ...

    def save(self, task: Task) -> None:
        """Write back a changed task."""
        ...

    def search(self, *, state: TaskState | None = None, limit: int = 50, offset: int = 0) -> list[Task]:
        """Tasks (in one state when given), newest first."""
        ...

    def find_open(self, call_id: str, kind: TaskKind) -> Task | None:
        """The newest open task of ``kind`` about the call ``call_id``, or None."""
        ...


class ComplaintRepository(Protocol):
    """Complaint tickets."""

    def add(self, complaint: Complaint) -> Complaint:
        """Persist a new complaint (assigns its id)."""
        ...

    def get(self, complaint_id: int) -> Complaint | None:
        """The complaint with this id, or None."""
        ...

    def search(self, *, customer_id: int | None = None, limit: int = 50, offset: int = 0) -> list[Complaint]:
        """Complaints (of one customer when given), newest first."""
        ...


class HolidayOverrideRepository(Protocol):
    """Manual workday/day-off corrections of the calendar."""

    def all(self) -> list[HolidayOverride]:
        """Every override, by day."""
        ...

    def replace_all(self, overrides: list[HolidayOverride]) -> None:
        """Make ``overrides`` (distinct days) the whole table."""
        ...


class AgentRepository(Protocol):
    """Agents (users of role agent): current state, state log, contacts."""

    def statuses(self) -> list[AgentStatus]:
        """Every active agent with the current state (logged out when never set), by username."""
        ...

    def status(self, user_id: int) -> AgentStatus | None:
        """The active agent ``user_id`` with the current state, or None when no such agent."""
        ...

    def by_username(self, username: str) -> AgentStatus | None:
        """The active agent whose (SIP) username is ``username``, or None."""
        ...

    def change_state(self, change: AgentStateChange) -> AgentStateChange:
        """Set the current state and append ``change`` to the log (with its id); ``Conflict`` when the
        stored state is no longer ``change.from_state`` (a concurrent change won)."""
        ...

    def log(
        self, user_id: int, *, since: datetime | None = None, until: datetime | None = None,
        limit: int = 100, offset: int = 0,
    ) -> list[AgentStateChange]:
        """State changes of ``user_id`` in ``[since, until)``, newest first."""
        ...

    def contacts(self, user_id: int) -> list[AgentContact]:
        """The contacts of ``user_id``, by priority."""
        ...

    def add_contact(self, contact: AgentContact) -> AgentContact:
        """Store a contact (with its id); ``Conflict`` when the phone or mobile is another's already."""
        ...

    def remove_contact(self, contact_id: int) -> bool:
        """Delete a contact; False when there was none."""
        ...


@dataclass(frozen=True)
class QueueDefinition:
    """A stored queue: the ACD's configuration, where it belongs, and its members."""

    station_id: int
    purpose: QueuePurpose
    config: QueueConfig
    updated_at: datetime
    members: tuple[QueueMember, ...] = ()
    id: int | None = None


class QueueRepository(Protocol):
    """Queues (configuration) and their members."""

    def add(self, definition: QueueDefinition) -> QueueDefinition:
        """Store a new queue without members (returned with its id); ``Conflict`` when the name or the
        station and purpose are taken."""
        ...

    def get(self, queue_id: int) -> QueueDefinition | None:
        """The queue with its members, or None."""
        ...

    def get_by_name(self, name: str) -> QueueDefinition | None:
        """The queue named ``name`` with its members, or None."""
        ...

    def all(self, *, station_id: int | None = None) -> list[QueueDefinition]:
        """Every queue (of one station when given), by name."""
        ...

    def save(self, definition: QueueDefinition) -> None:
        """Write back station, purpose and configuration of a stored queue (members unchanged)."""
        ...

    def set_members(self, queue_id: int, members: Sequence[QueueMember]) -> None:
        """Replace the members; ``NotFound`` for a member that is no active agent."""
        ...


@dataclass(frozen=True)
class QueueLogFilter:
    """Criteria of a queue log listing; ``None`` means "any"; times bound ``at`` (half-open)."""

    since: datetime | None = None
    until: datetime | None = None
    queue: str | None = None
    event: str | None = None
    call_id: str | None = None
    limit: int = 500
    offset: int = 0


class QueueLogRepository(Protocol):
    """The queue log: insert-only."""

    def add_many(self, records: Sequence[QueueLogRecord]) -> None:
        """Append records."""
        ...

    def search(self, where: QueueLogFilter) -> list[QueueLogRecord]:
        """Records matching ``where``, oldest first."""
        ...


class UnitOfWork(Protocol):
    """One transaction over all repositories. Use as ``with uow: ... uow.commit()``; leaving the block
    without ``commit`` rolls back, and rolling back also drops the recorded events."""

    customers: CustomerRepository
    products: ProductRepository
    stations: StationRepository
    couriers: CourierRepository
    orders: OrderRepository
    tickets: TicketRepository
    buckets: BucketRepository
    outbox: OutboxRepository
    flows: FlowRepository
    calls: CallRecordRepository
    tasks: TaskRepository
    complaints: ComplaintRepository
    holidays: HolidayOverrideRepository
    agents: AgentRepository
    queues: QueueRepository
    queue_log: QueueLogRepository

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None:
        """Make everything done in this unit of work durable."""
        ...

    def rollback(self) -> None:
        """Discard everything not yet committed (and the recorded events)."""
        ...

    def flush(self) -> None:
        """Give ids to newly attached children (addresses, transitions) without committing."""
        ...

    def next_order_sequence(self, day: date) -> int:
        """The next order sequence of the Asia/Shanghai ``day`` (1, 2, ...); part of this transaction."""
        ...

    def record(self, event: Event) -> None:
        """Remember an event to publish once this unit of work has committed."""
        ...

    def collect_new_events(self) -> list[Event]:
        """Take (and forget) the events recorded by committed work."""
        ...


class NumberInfo(Protocol):
    """Where a phone number is: mobile block table, geocoder, area codes (``adapters.numberinfo``).

    The calendar port is ``domain.hours.WorkCalendar`` (the pure ``is_open`` takes it too)."""

    def locate(self, phone: str) -> Locality:
        """The region of ``phone`` (any mainland form), unknown for 400 numbers and unknown blocks;
        ``InvalidInput`` when it is not a phone number."""
        ...


class Clock(Protocol):
    """The time source."""

    def now(self) -> datetime:
        """The current time as an aware UTC datetime."""
        ...


class SmsSender(Protocol):
    """An SMS gateway."""

    def send(self, to: str, text: str) -> str:
        """Hand ``text`` to the gateway for ``to``; returns the provider's message id, raises on failure."""
        ...
