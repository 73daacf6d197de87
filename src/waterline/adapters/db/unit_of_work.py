"""The SQLAlchemy unit of work: one session, one transaction, all repositories.

An order, its dispatch (courier load), its ledger entries and its outbox row are written through the
same session and committed together, or not at all.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from types import TracebackType
from typing import Self

from sqlalchemy import Insert, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from waterline.adapters.db.agents import SqlAlchemyAgentRepository
from waterline.adapters.db.calls import SqlAlchemyCallRecordRepository
from waterline.adapters.db.complaints import SqlAlchemyComplaintRepository
from waterline.adapters.db.flows import SqlAlchemyFlowRepository
from waterline.adapters.db.holidays import SqlAlchemyHolidayOverrideRepository
from waterline.adapters.db.orm import order_sequences_table, start_mappers
from waterline.adapters.db.queues import SqlAlchemyQueueLogRepository, SqlAlchemyQueueRepository
from waterline.adapters.db.reference import ReferenceCache
from waterline.adapters.db.repositories import (
    SqlAlchemyBucketRepository,
    SqlAlchemyCourierRepository,
    SqlAlchemyCustomerRepository,
    SqlAlchemyOrderRepository,
    SqlAlchemyOutboxRepository,
    SqlAlchemyProductRepository,
    SqlAlchemyStationRepository,
    SqlAlchemyTicketRepository,
    flush_or_conflict,
    read_screen_pop,
)
from waterline.adapters.db.tasks import SqlAlchemyTaskRepository
from waterline.domain.errors import Conflict
from waterline.services.ports import (
    AgentRepository,
    BucketRepository,
    CallRecordRepository,
    ComplaintRepository,
    CourierRepository,
    CustomerRepository,
    FlowRepository,
    HolidayOverrideRepository,
    OrderRepository,
    OutboxRepository,
    ProductRepository,
    QueueLogRepository,
    QueueRepository,
    StationRepository,
    TaskRepository,
    TicketRepository,
    UnitOfWork,
)
from waterline.services.queries import ScreenPop, ScreenPopReader
from waterline.services.unit_of_work import EventRecordingUnitOfWork


class UnitOfWorkNotEntered(RuntimeError):
    """A repository was used outside ``with uow:``."""


class SqlAlchemyUnitOfWork(EventRecordingUnitOfWork):
    """Implements ``services.ports.UnitOfWork`` on a SQLAlchemy session factory.

    Each ``with uow:`` opens a fresh session; leaving the block closes it, rolling back whatever was
    not committed. Objects loaded inside stay readable afterwards (relationships are loaded eagerly
    and nothing is expired), so a handler may return them to the web layer. ``reference``, shared by
    the units of work of one store, serves the stations' and products' ``snapshot()``; without it
    they are read from the store each time.
    """

    def __init__(
        self, session_factory: sessionmaker[Session], reference: ReferenceCache | None = None
    ) -> None:
        super().__init__()
        start_mappers()
        self._session_factory = session_factory
        self._session: Session | None = None
        self.customers: CustomerRepository = SqlAlchemyCustomerRepository(self._current)
        self.products: ProductRepository = SqlAlchemyProductRepository(self._current, reference)
        self.stations: StationRepository = SqlAlchemyStationRepository(self._current, reference)
        self.couriers: CourierRepository = SqlAlchemyCourierRepository(self._current)
        self.orders: OrderRepository = SqlAlchemyOrderRepository(self._current)
        self.tickets: TicketRepository = SqlAlchemyTicketRepository(self._current)
        self.buckets: BucketRepository = SqlAlchemyBucketRepository(self._current)
        self.outbox: OutboxRepository = SqlAlchemyOutboxRepository(self._current)
        self.flows: FlowRepository = SqlAlchemyFlowRepository(self._current)
        self.calls: CallRecordRepository = SqlAlchemyCallRecordRepository(self._current)
        self.tasks: TaskRepository = SqlAlchemyTaskRepository(self._current)
        self.complaints: ComplaintRepository = SqlAlchemyComplaintRepository(self._current)
        self.holidays: HolidayOverrideRepository = SqlAlchemyHolidayOverrideRepository(self._current)
        self.agents: AgentRepository = SqlAlchemyAgentRepository(self._current)
        self.queues: QueueRepository = SqlAlchemyQueueRepository(self._current)
        self.queue_log: QueueLogRepository = SqlAlchemyQueueLogRepository(self._current)

    @property
    def session(self) -> Session:
        """The session of the current ``with`` block (for adapters that need raw queries)."""
        return self._current()

    def _current(self) -> Session:
        if self._session is None:
            raise UnitOfWorkNotEntered("use the unit of work inside 'with uow:'")
        return self._session

    def __enter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("this unit of work is already entered; nested use would share a transaction")
        session = self._session_factory()
        # Handlers return objects after commit; expiring them would make them unreadable once the
        # session is closed.
        session.expire_on_commit = False
        self._session = session
        return super().__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        if session is not None:
            # close() rolls back what was not committed but, unlike rollback(), does not expire the
            # loaded objects: read-only work (the screen-pop) hands them on after the block.
            session.close()
        super().__exit__(exc_type, exc, tb)

    def _commit(self) -> None:
        session = self._current()
        flush_or_conflict(session)
        try:
            session.commit()
        except IntegrityError as exc:  # deferred constraints on PostgreSQL fire at COMMIT
            raise Conflict("conflict", detail="concurrent change or duplicate value") from exc

    def _rollback(self) -> None:
        if self._session is not None:
            self._session.rollback()

    def flush(self) -> None:
        """Write pending changes (ids for new children) inside the transaction, without committing."""
        flush_or_conflict(self._current())

    def read_screen_pop(self, number: str, orders: int) -> ScreenPop | None:
        """The screen-pop of the customer owning ``number`` via the store's Core read path (no ORM).

        On PostgreSQL it runs outside a transaction: that saves the BEGIN and ROLLBACK round trips and
        loses nothing, because at READ COMMITTED every statement takes its own snapshot anyway. (SQLite's
        driver opens no transaction for a SELECT in the first place.) Use it first in its ``with``
        block: a session that already holds a connection keeps its transaction.
        """
        session = self._current()
        if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
            connection = session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        else:
            connection = session.connection()
        return read_screen_pop(connection, number, orders)

    def next_order_sequence(self, day: date) -> int:
        """The next number of ``day``: an atomic upsert, row-locked until this transaction ends.

        Two concurrent placements therefore get different numbers on PostgreSQL (the second waits
        for the first's commit) and on SQLite (writers are serialised by the database lock); a
        rolled-back transaction gives its number back, so numbers have no gaps.
        """
        session = self._current()
        stmt = _next_sequence(session.get_bind().dialect.name == "postgresql")
        return int(session.execute(stmt, {"day": day}).scalar_one())


@cache
def _next_sequence(postgres: bool) -> Insert:
    # built once per dialect (every placement runs it), the day a bound parameter
    table = order_sequences_table
    values = {"day": bindparam("day", type_=table.c.day.type), "last_value": 1}
    set_ = {"last_value": table.c.last_value + 1}
    if postgres:
        pg = postgresql.insert(table).values(values)
        return pg.on_conflict_do_update(index_elements=[table.c.day], set_=set_).returning(table.c.last_value)
    lite = sqlite.insert(table).values(values)
    return lite.on_conflict_do_update(index_elements=[table.c.day], set_=set_).returning(table.c.last_value)


def _conforms(uow: SqlAlchemyUnitOfWork) -> UnitOfWork:
    # mypy checks here that the adapter implements the port
    return uow


def _reads_screen_pop(uow: SqlAlchemyUnitOfWork) -> ScreenPopReader:
    # ... and the optional screen-pop read path
    return uow
