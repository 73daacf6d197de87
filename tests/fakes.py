"""In-memory fakes of the service ports: FakeUnitOfWork, FakeSmsSender, FakeClock, plus a small
Shaanxi world to start tests from. Used by the service tests and by the web tests.

``FakeStore`` plays the database: a unit of work works on a private copy of ``store.data`` and copies
it back on commit, so a handler that fails half-way leaves the store exactly as it was.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from waterline.calls.queue import QueueMember
from waterline.domain.agents import AgentContact, AgentState, AgentStateChange, AgentStatus
from waterline.domain.buckets import BucketAccount, BucketEntry
from waterline.domain.callrecords import CallRecord
from waterline.domain.customers import Customer
from waterline.domain.errors import Conflict, NotFound
from waterline.domain.flows import DidRoute, FlowSummary, FlowVersion
from waterline.domain.orders import Order
from waterline.domain.outbox import OutboxMessage, OutboxState
from waterline.domain.overrides import HolidayOverride
from waterline.domain.products import Product, ProductKind
from waterline.domain.queuelog import QueueLogRecord
from waterline.domain.stations import Courier, Station, daily_hours
from waterline.domain.tasks import Complaint, Task, TaskKind, TaskState
from waterline.domain.tickets import TicketAccount, TicketEntry
from waterline.services.ports import (
    AgentRepository,
    BucketRepository,
    CallFilter,
    CallRecordRepository,
    ComplaintRepository,
    CourierRepository,
    CustomerRepository,
    FlowRepository,
    HolidayOverrideRepository,
    OrderFilter,
    OrderRepository,
    OutboxRepository,
    ProductRepository,
    QueueDefinition,
    QueueLogFilter,
    QueueLogRepository,
    QueueRepository,
    StationRepository,
    TaskRepository,
    TicketRepository,
    UnitOfWork,
)
from waterline.services.unit_of_work import EventRecordingUnitOfWork


@dataclass
class FakeData:
    """Everything the fake database holds."""

    next_id: int = 1
    customers: dict[int, Customer] = field(default_factory=dict)
    products: dict[int, Product] = field(default_factory=dict)
    stations: dict[int, Station] = field(default_factory=dict)
    couriers: dict[int, Courier] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    ticket_entries: list[TicketEntry] = field(default_factory=list)
    bucket_entries: list[BucketEntry] = field(default_factory=list)
    outbox: dict[int, OutboxMessage] = field(default_factory=dict)
    sequences: dict[date, int] = field(default_factory=dict)
    flows: dict[str, FlowSummary] = field(default_factory=dict)
    flow_versions: list[FlowVersion] = field(default_factory=list)
    routes: dict[str, DidRoute] = field(default_factory=dict)
    calls: dict[int, CallRecord] = field(default_factory=dict)
    tasks: dict[int, Task] = field(default_factory=dict)
    complaints: dict[int, Complaint] = field(default_factory=dict)
    holidays: dict[date, HolidayOverride] = field(default_factory=dict)
    # agent users by id, with their current state (the fake has no users table of its own)
    agents: dict[int, AgentStatus] = field(default_factory=dict)
    agent_log: list[AgentStateChange] = field(default_factory=list)
    agent_contacts: dict[int, AgentContact] = field(default_factory=dict)
    queues: dict[int, QueueDefinition] = field(default_factory=dict)
    queue_log: list[QueueLogRecord] = field(default_factory=list)

    def new_id(self) -> int:
        """A fresh id (one counter for every table: ids never collide, which catches mix-ups)."""
        value = self.next_id
        self.next_id += 1
        return value


@dataclass
class FakeStore:
    """The committed state and how many commits produced it."""

    data: FakeData = field(default_factory=FakeData)
    commits: int = 0

    def uow(self) -> FakeUnitOfWork:
        """A new unit of work on this store (use as the bus's factory: ``store.uow``)."""
        return FakeUnitOfWork(self)

    def add_agent(self, username: str, display_name: str = "") -> int:
        """Create an agent user (logged out, never logged in) and return his id."""
        user_id = self.data.new_id()
        self.data.agents[user_id] = AgentStatus(user_id, username, display_name, AgentState.LOGGED_OUT, None)
        return user_id


class _Repo:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow

    @property
    def data(self) -> FakeData:
        return self.uow.work


class FakeCustomers(_Repo):
    def add(self, customer: Customer) -> Customer:
        customer.id = self.data.new_id()
        self.data.customers[customer.id] = customer
        self.uow.flush()
        return customer

    def get(self, customer_id: int) -> Customer | None:
        return self.data.customers.get(customer_id)

    def find_by_phone(self, phone: str) -> Customer | None:
        for customer in self.data.customers.values():
            if phone in customer.phone_numbers:
                return customer
        return None

    def search(
        self, *, q: str | None = None, phone: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[Customer]:
        found = []
        for customer in sorted(self.data.customers.values(), key=lambda c: c.id or 0):
            texts = [customer.name, *(a.one_line() for a in customer.addresses)]
            if q is not None and not any(q in text for text in texts):
                continue
            if phone is not None and not any(n.startswith(phone) for n in customer.phone_numbers):
                continue
            found.append(customer)
        return found[offset : offset + limit]


class FakeProducts(_Repo):
    def add(self, product: Product) -> Product:
        product.id = self.data.new_id()
        self.data.products[product.id] = product
        return product

    def get(self, product_id: int) -> Product | None:
        return self.data.products.get(product_id)

    def all(self, *, active_only: bool = False) -> list[Product]:
        return [p for _, p in sorted(self.data.products.items()) if p.active or not active_only]

    def snapshot(self) -> Mapping[int, Product]:
        # copies, like the SQL store's: changing one must not change the catalogue
        return {key: replace(p) for key, p in sorted(self.data.products.items())}


class FakeStations(_Repo):
    def add(self, station: Station) -> Station:
        station.id = self.data.new_id()
        self.data.stations[station.id] = station
        return station

    def get(self, station_id: int) -> Station | None:
        return self.data.stations.get(station_id)

    def all(self) -> list[Station]:
        return [s for _, s in sorted(self.data.stations.items())]

    def snapshot(self) -> Sequence[Station]:
        return [replace(s, service_districts=list(s.service_districts), hours=list(s.hours))
                for _, s in sorted(self.data.stations.items())]


class FakeCouriers(_Repo):
    def add(self, courier: Courier) -> Courier:
        courier.id = self.data.new_id()
        self.data.couriers[courier.id] = courier
        return courier

    def get(self, courier_id: int) -> Courier | None:
        return self.data.couriers.get(courier_id)

    def all(self, *, station_id: int | None = None) -> list[Courier]:
        return [
            c
            for _, c in sorted(self.data.couriers.items())
            if station_id is None or c.station_id == station_id
        ]

    def find_by_user(self, user_id: int) -> Courier | None:
        return next((c for c in self.data.couriers.values() if c.user_id == user_id), None)

    def candidates(self, station_id: int) -> list[Courier]:
        return [replace(c) for c in self.all(station_id=station_id)]

    def reserve(self, courier_id: int, units: int) -> Courier | None:
        courier = self.data.couriers.get(courier_id)
        if courier is None or not courier.on_duty or not courier.has_room_for(units):
            return None
        courier.take(units)
        return replace(courier)


class FakeOrders(_Repo):
    def add(self, order: Order) -> Order:
        order.id = self.data.new_id()
        self.data.orders[order.id] = order
        self.uow.flush()
        return order

    def get(self, order_id: int) -> Order | None:
        return self.data.orders.get(order_id)

    def get_by_number(self, number: str) -> Order | None:
        return next((o for o in self.data.orders.values() if o.number == number), None)

    def search(self, criteria: OrderFilter) -> list[Order]:
        c = criteria
        found = [
            o
            for o in self.data.orders.values()
            if (c.state is None or o.state is c.state)
            and (c.station_id is None or o.station_id == c.station_id)
            and (c.courier_id is None or o.courier_id == c.courier_id)
            and (c.customer_id is None or o.customer_id == c.customer_id)
            and (c.placed_from is None or o.placed_at >= c.placed_from)
            and (c.placed_to is None or o.placed_at < c.placed_to)
        ]
        found.sort(key=lambda o: (o.placed_at, o.id or 0), reverse=True)
        return found[c.offset : c.offset + c.limit]

    def recent_for_customer(self, customer_id: int, limit: int = 5) -> list[Order]:
        return self.search(OrderFilter(customer_id=customer_id, limit=limit))


class FakeTickets(_Repo):
    def _of(self, customer_id: int, product_id: int, station_id: int | None) -> list[TicketEntry]:
        return [
            e
            for e in self.data.ticket_entries
            if (e.customer_id, e.product_id, e.station_id) == (customer_id, product_id, station_id)
        ]

    def account(self, customer_id: int, product_id: int, station_id: int | None) -> TicketAccount:
        entries = self._of(customer_id, product_id, station_id)
        if not entries:
            return TicketAccount(customer_id, product_id, station_id)
        last = max(entries, key=lambda e: e.seq)
        return TicketAccount(customer_id, product_id, station_id, last.balance_after, last.seq)

    def accounts(self, customer_id: int) -> list[TicketAccount]:
        keys = {
            (e.product_id, e.station_id) for e in self.data.ticket_entries if e.customer_id == customer_id
        }
        ordered = sorted(keys, key=lambda k: (k[0], k[1] or 0))
        return [self.account(customer_id, product_id, station_id) for product_id, station_id in ordered]

    def append(self, entry: TicketEntry) -> TicketEntry:
        # the unique (account, seq) constraint of the real store
        if any(e.seq == entry.seq for e in self._of(entry.customer_id, entry.product_id, entry.station_id)):
            raise Conflict("conflict", detail="ticket ledger entry already exists")
        stored = replace(entry, id=self.data.new_id())
        self.data.ticket_entries.append(stored)
        return stored

    def entries(self, customer_id: int, product_id: int | None = None) -> list[TicketEntry]:
        return [
            e
            for e in self.data.ticket_entries
            if e.customer_id == customer_id and (product_id is None or e.product_id == product_id)
        ]


class FakeBuckets(_Repo):
    def account(self, customer_id: int) -> BucketAccount:
        entries = self.entries(customer_id)
        if not entries:
            return BucketAccount(customer_id)
        last = max(entries, key=lambda e: e.seq)
        return BucketAccount(customer_id, last.entitlement_after, last.held_after, last.seq)

    def append(self, entry: BucketEntry) -> BucketEntry:
        if any(e.seq == entry.seq for e in self.entries(entry.customer_id)):
            raise Conflict("conflict", detail="bucket ledger entry already exists")
        stored = replace(entry, id=self.data.new_id())
        self.data.bucket_entries.append(stored)
        return stored

    def entries(self, customer_id: int) -> list[BucketEntry]:
        return [e for e in self.data.bucket_entries if e.customer_id == customer_id]


class FakeOutbox(_Repo):
    def add(self, message: OutboxMessage) -> OutboxMessage:
        message.id = self.data.new_id()
        self.data.outbox[message.id] = message
        return message

    def get(self, message_id: int) -> OutboxMessage | None:
        return self.data.outbox.get(message_id)

    def due(self, now: datetime, limit: int) -> list[OutboxMessage]:
        due = [m for m in self.data.outbox.values() if m.is_due(now)]
        due.sort(key=lambda m: (m.created_at, m.id or 0))
        return due[:limit]

    def search(
        self,
        *,
        order_id: int | None = None,
        to: str | None = None,
        state: OutboxState | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[OutboxMessage]:
        found = [
            m
            for m in self.data.outbox.values()
            if (order_id is None or m.order_id == order_id)
            and (to is None or m.to == to)
            and (state is None or m.state is state)
        ]
        found.sort(key=lambda m: (m.created_at, m.id or 0), reverse=True)
        return found[offset : offset + limit]


class FakeFlows(_Repo):
    def add_version(self, name: str, text: str, *, author: str, at: datetime) -> FlowVersion:
        summary = self.data.flows.get(name)
        number = 1 if summary is None else summary.latest_version + 1
        current = None if summary is None else summary.current_version
        self.data.flows[name] = FlowSummary(name, current, number, at)
        version = FlowVersion(self.data.new_id(), name, number, text, author, at)
        self.data.flow_versions.append(version)
        return version

    def get_version(self, name: str, version: int) -> FlowVersion | None:
        return next((v for v in self.data.flow_versions if v.name == name and v.version == version), None)

    def versions(self, name: str) -> list[FlowVersion]:
        return sorted((v for v in self.data.flow_versions if v.name == name), key=lambda v: -v.version)

    def get(self, name: str) -> FlowSummary | None:
        return self.data.flows.get(name)

    def all(self) -> list[FlowSummary]:
        return [self.data.flows[name] for name in sorted(self.data.flows)]

    def publish(self, name: str, version: int, *, at: datetime) -> FlowSummary:
        summary = replace(self.data.flows[name], current_version=version, updated_at=at)
        self.data.flows[name] = summary
        return summary

    def routes(self) -> list[DidRoute]:
        return [self.data.routes[did] for did in sorted(self.data.routes)]

    def set_route(self, did: str, flow_name: str, *, at: datetime) -> DidRoute:
        route = DidRoute(did, flow_name, at)
        self.data.routes[did] = route
        return route

    def remove_route(self, did: str) -> bool:
        return self.data.routes.pop(did, None) is not None

    def current_for_did(self, did: str) -> FlowVersion | None:
        route = self.data.routes.get(did)
        summary = None if route is None else self.data.flows.get(route.flow_name)
        if summary is None or summary.current_version is None:
            return None
        return self.get_version(summary.name, summary.current_version)


class FakeCallRecords(_Repo):
    def add(self, record: CallRecord) -> CallRecord:
        if any(r.call_id == record.call_id for r in self.data.calls.values()):
            raise Conflict("conflict", detail=f"call {record.call_id} is already recorded")
        record.id = self.data.new_id()
        self.data.calls[record.id] = copy.deepcopy(record)
        return record

    def get(self, record_id: int) -> CallRecord | None:
        return copy.deepcopy(self.data.calls.get(record_id))

    def get_by_call_id(self, call_id: str) -> CallRecord | None:
        return copy.deepcopy(next((r for r in self.data.calls.values() if r.call_id == call_id), None))

    def save(self, record: CallRecord) -> None:
        assert record.id is not None
        self.data.calls[record.id] = copy.deepcopy(record)

    def search(self, criteria: CallFilter) -> list[CallRecord]:
        found = [
            r
            for r in self.data.calls.values()
            if (criteria.started_from is None or r.started_at >= criteria.started_from)
            and (criteria.started_to is None or r.started_at < criteria.started_to)
            and (criteria.caller is None or r.caller == criteria.caller)
            and (criteria.outcome is None or r.outcome is criteria.outcome)
        ]
        found.sort(key=lambda r: (r.started_at, r.id or 0), reverse=True)
        return copy.deepcopy(found[criteria.offset : criteria.offset + criteria.limit])

    def open_records(self) -> list[CallRecord]:
        found = sorted((r for r in self.data.calls.values() if r.is_open), key=lambda r: r.id or 0)
        return copy.deepcopy(found)


class FakeTasks(_Repo):
    def add(self, task: Task) -> Task:
        task.id = self.data.new_id()
        self.data.tasks[task.id] = copy.deepcopy(task)
        return task

    def get(self, task_id: int) -> Task | None:
        return copy.deepcopy(self.data.tasks.get(task_id))

    def save(self, task: Task) -> None:
        assert task.id is not None
        self.data.tasks[task.id] = copy.deepcopy(task)

    def search(self, *, state: TaskState | None = None, limit: int = 50, offset: int = 0) -> list[Task]:
        found = [t for t in self.data.tasks.values() if state is None or t.state is state]
        found.sort(key=lambda t: (t.created_at, t.id or 0), reverse=True)
        return copy.deepcopy(found[offset : offset + limit])

    def find_open(self, call_id: str, kind: TaskKind) -> Task | None:
        found = [t for t in self.data.tasks.values()
                 if t.call_id == call_id and t.kind is kind and t.state is TaskState.OPEN]
        return copy.deepcopy(max(found, key=lambda t: t.id or 0)) if found else None


class FakeComplaints(_Repo):
    def add(self, complaint: Complaint) -> Complaint:
        complaint.id = self.data.new_id()
        self.data.complaints[complaint.id] = copy.deepcopy(complaint)
        return complaint

    def get(self, complaint_id: int) -> Complaint | None:
        return copy.deepcopy(self.data.complaints.get(complaint_id))

    def search(self, *, customer_id: int | None = None, limit: int = 50, offset: int = 0) -> list[Complaint]:
        found = [c for c in self.data.complaints.values() if customer_id in (None, c.customer_id)]
        found.sort(key=lambda c: (c.created_at, c.id or 0), reverse=True)
        return copy.deepcopy(found[offset : offset + limit])


class FakeHolidays(_Repo):
    def all(self) -> list[HolidayOverride]:
        return [self.data.holidays[day] for day in sorted(self.data.holidays)]

    def replace_all(self, overrides: list[HolidayOverride]) -> None:
        self.data.holidays = {o.day: o for o in overrides}


class FakeAgents(_Repo):
    def statuses(self) -> list[AgentStatus]:
        return sorted(self.data.agents.values(), key=lambda a: a.username)

    def status(self, user_id: int) -> AgentStatus | None:
        return self.data.agents.get(user_id)

    def by_username(self, username: str) -> AgentStatus | None:
        return next((a for a in self.data.agents.values() if a.username == username), None)

    def change_state(self, change: AgentStateChange) -> AgentStateChange:
        current = self.data.agents[change.user_id]
        if current.state is not change.from_state:
            raise Conflict("conflict", detail="agent state changed concurrently")
        self.data.agents[change.user_id] = replace(
            current, state=change.to_state, since=change.at, reason=change.reason
        )
        stored = replace(change, id=self.data.new_id())
        self.data.agent_log.append(stored)
        return stored

    def log(
        self, user_id: int, *, since: datetime | None = None, until: datetime | None = None,
        limit: int = 100, offset: int = 0,
    ) -> list[AgentStateChange]:
        found = [
            c for c in self.data.agent_log
            if c.user_id == user_id and (since is None or c.at >= since) and (until is None or c.at < until)
        ]
        found.sort(key=lambda c: (c.at, c.id or 0), reverse=True)
        return found[offset : offset + limit]

    def contacts(self, user_id: int) -> list[AgentContact]:
        found = [c for c in self.data.agent_contacts.values() if c.user_id == user_id]
        return sorted(found, key=lambda c: (c.priority, c.id or 0))

    def add_contact(self, contact: AgentContact) -> AgentContact:
        taken = {(c.kind, c.address) for c in self.data.agent_contacts.values()}
        if (contact.kind, contact.address) in taken:
            raise Conflict("conflict", detail="contact taken")
        stored = replace(contact, id=self.data.new_id())
        assert stored.id is not None
        self.data.agent_contacts[stored.id] = stored
        return stored

    def remove_contact(self, contact_id: int) -> bool:
        return self.data.agent_contacts.pop(contact_id, None) is not None


class FakeQueues(_Repo):
    def add(self, definition: QueueDefinition) -> QueueDefinition:
        for other in self.data.queues.values():
            if other.config.name == definition.config.name or (
                (other.station_id, other.purpose) == (definition.station_id, definition.purpose)
            ):
                raise Conflict("conflict", detail="queue taken")
        stored = replace(definition, id=self.data.new_id(), members=())
        assert stored.id is not None
        self.data.queues[stored.id] = stored
        return stored

    def get(self, queue_id: int) -> QueueDefinition | None:
        return self.data.queues.get(queue_id)

    def get_by_name(self, name: str) -> QueueDefinition | None:
        return next((q for q in self.data.queues.values() if q.config.name == name), None)

    def all(self, *, station_id: int | None = None) -> list[QueueDefinition]:
        found = [q for q in self.data.queues.values() if station_id in (None, q.station_id)]
        return sorted(found, key=lambda q: q.config.name)

    def save(self, definition: QueueDefinition) -> None:
        assert definition.id is not None
        for other in self.data.queues.values():
            if other.id != definition.id and (
                other.config.name == definition.config.name
                or (other.station_id, other.purpose) == (definition.station_id, definition.purpose)
            ):
                raise Conflict("conflict", detail="queue taken")
        members = self.data.queues[definition.id].members
        self.data.queues[definition.id] = replace(definition, members=members)

    def set_members(self, queue_id: int, members: Sequence[QueueMember]) -> None:
        names = {a.username for a in self.data.agents.values()}
        for member in members:
            if member.agent not in names:
                raise NotFound("agent", member.agent)
        ordered = tuple(sorted(members, key=lambda m: (m.tier, m.agent)))
        self.data.queues[queue_id] = replace(self.data.queues[queue_id], members=ordered)


class FakeQueueLog(_Repo):
    def add_many(self, records: Sequence[QueueLogRecord]) -> None:
        self.data.queue_log.extend(replace(r, id=self.data.new_id()) for r in records)

    def search(self, where: QueueLogFilter) -> list[QueueLogRecord]:
        found = [
            r for r in self.data.queue_log
            if (where.since is None or r.at >= where.since) and (where.until is None or r.at < where.until)
            and where.queue in (None, r.queue) and where.event in (None, r.event)
            and where.call_id in (None, r.call_id)
        ]
        found.sort(key=lambda r: (r.at, r.id or 0))
        return found[where.offset : where.offset + where.limit]


class FakeUnitOfWork(EventRecordingUnitOfWork):
    """A unit of work over a ``FakeStore``; implements ``services.ports.UnitOfWork``."""

    def __init__(self, store: FakeStore | None = None) -> None:
        super().__init__()
        self.store = store if store is not None else FakeStore()
        self.work = copy.deepcopy(self.store.data)
        self.customers: CustomerRepository = FakeCustomers(self)
        self.products: ProductRepository = FakeProducts(self)
        self.stations: StationRepository = FakeStations(self)
        self.couriers: CourierRepository = FakeCouriers(self)
        self.orders: OrderRepository = FakeOrders(self)
        self.tickets: TicketRepository = FakeTickets(self)
        self.buckets: BucketRepository = FakeBuckets(self)
        self.outbox: OutboxRepository = FakeOutbox(self)
        self.flows: FlowRepository = FakeFlows(self)
        self.calls: CallRecordRepository = FakeCallRecords(self)
        self.tasks: TaskRepository = FakeTasks(self)
        self.complaints: ComplaintRepository = FakeComplaints(self)
        self.holidays: HolidayOverrideRepository = FakeHolidays(self)
        self.agents: AgentRepository = FakeAgents(self)
        self.queues: QueueRepository = FakeQueues(self)
        self.queue_log: QueueLogRepository = FakeQueueLog(self)

    def __enter__(self) -> FakeUnitOfWork:
        super().__enter__()
        self.work = copy.deepcopy(self.store.data)
        return self

    def _commit(self) -> None:
        self.flush()
        self.store.data = copy.deepcopy(self.work)
        self.store.commits += 1

    def _rollback(self) -> None:
        self.work = copy.deepcopy(self.store.data)

    def flush(self) -> None:
        """Give ids to children added since the last flush."""
        for customer in self.work.customers.values():
            for phone in customer.phones:
                if phone.id is None:
                    phone.id = self.work.new_id()
            for address in customer.addresses:
                if address.id is None:
                    address.id = self.work.new_id()
        for order in self.work.orders.values():
            for item in order.items:
                if item.id is None:
                    item.id = self.work.new_id()
            for record in order.transitions:
                if record.id is None:
                    record.id = self.work.new_id()

    def next_order_sequence(self, day: date) -> int:
        value = self.work.sequences.get(day, 0) + 1
        self.work.sequences[day] = value
        return value


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Xi'an

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> datetime:
        """Move forward and return the new time."""
        self.current += timedelta(seconds=seconds)
        return self.current


class SmsGatewayDown(Exception):
    """What ``FakeSmsSender`` raises while told to fail."""


@dataclass
class FakeSmsSender:
    """Records sent messages in ``sent``; fails the next ``failures`` sends."""

    sent: list[tuple[str, str]] = field(default_factory=list)
    failures: int = 0
    calls: int = 0

    def send(self, to: str, text: str) -> str:
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise SmsGatewayDown("gateway unavailable")
        self.sent.append((to, text))
        return f"fake-{len(self.sent)}"


@dataclass(frozen=True)
class World:
    """Ids of a small seeded Shaanxi world."""

    water: int  # 农夫山泉 18.9L barrel, 20 yuan
    other_water: int  # 冰川时代 18.9L barrel, 18 yuan
    dispenser: int
    retired: int  # an inactive product
    yanta: int  # 雁塔 station
    weiyang: int  # 未央 station
    xianyang: int  # 秦都 station (咸阳)
    wang: int  # courier at 雁塔, capacity 20
    li: int  # courier at 雁塔, capacity 10
    zhao: int  # courier at 未央


def seed_world(store: FakeStore) -> World:
    """Fill ``store`` with products, three stations and three couriers (committed)."""
    hours = daily_hours(time(7, 0), time(21, 0))
    with store.uow() as uow:
        water = uow.products.add(
            Product("NFS-189", "农夫山泉 18.9L", "农夫山泉", ProductKind.BARREL, 18900, 2000)
        )
        other = uow.products.add(
            Product("BCSD-189", "冰川时代 18.9L", "冰川时代", ProductKind.BARREL, 18900, 1800)
        )
        disp = uow.products.add(Product("DISP-MD", "美的立式饮水机", "美的", ProductKind.DISPENSER, 0, 39900))
        retired = uow.products.add(
            Product("OLD-1", "停售桶装水", "某品牌", ProductKind.BARREL, 18900, 1500, active=False)
        )
        yanta = uow.stations.add(
            Station(
                "雁塔站", "西安市", "雁塔区", 34.2135, 108.9486, ["雁塔区", "曲江新区"], "02985550001", hours
            )
        )
        weiyang = uow.stations.add(
            Station(
                "未央站", "西安市", "未央区", 34.3098, 108.9468, ["未央区", "经开区"], "02985550002", hours
            )
        )
        xianyang = uow.stations.add(
            Station(
                "秦都站", "咸阳市", "秦都区", 34.3297, 108.7064, ["秦都区", "渭城区"], "02933330001", hours
            )
        )
        assert yanta.id and weiyang.id and xianyang.id
        wang = uow.couriers.add(Courier(yanta.id, "王师傅", "13991110001", capacity_per_trip=20))
        li = uow.couriers.add(Courier(yanta.id, "李师傅", "13991110002", capacity_per_trip=10, load=4))
        zhao = uow.couriers.add(Courier(weiyang.id, "赵师傅", "13991110003"))
        uow.commit()
    ids = (
        water.id,
        other.id,
        disp.id,
        retired.id,
        yanta.id,
        weiyang.id,
        xianyang.id,
        wang.id,
        li.id,
        zhao.id,
    )
    assert all(i is not None for i in ids)
    return World(*(i for i in ids if i is not None))


def _conforms(uow: FakeUnitOfWork) -> UnitOfWork:
    # mypy checks here that the fake implements the port
    return uow
