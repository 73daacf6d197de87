"""The one place that wires settings → engine → sessions/units of work → bus → web app.

Also supervises the telephony engine's child process (DESIGN.md "Processes"): the web app and
the engine run in separate processes so neither can stall or crash the other.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import multiprocessing
import multiprocessing.process
import threading
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from waterline.adapters.calendar import ChineseWorkCalendar, StoreCalendars
from waterline.adapters.db.engine import create_engine, create_session_factory
from waterline.adapters.db.migrations import upgrade
from waterline.adapters.db.orm import start_mappers
from waterline.adapters.db.reference import ReferenceCache
from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.adapters.db.users import UserRepository, default_hasher
from waterline.adapters.livechannel import LiveClient, socket_path
from waterline.adapters.numberinfo import PhoneNumberInfo
from waterline.adapters.retention import retention_job
from waterline.adapters.sms.log import LogSmsSender
from waterline.config import ConfigError, DispatchMode, Settings
from waterline.domain.errors import InvalidInput
from waterline.domain.outbox import RetryPolicy
from waterline.domain.users import Role
from waterline.services.bus import MessageBus
from waterline.services.callers import identify_caller, station_clock
from waterline.services.context import Dependencies, ServiceSettings
from waterline.services.ivr import IvrDesk
from waterline.services.outbox import DEFAULT_BATCH, DeliveryReport, deliver_due
from waterline.services.ports import Clock, SmsSender, UnitOfWork
from waterline.web.app import create_app
from waterline.web.card import card_lookup, known_number
from waterline.web.deps import AppServices
from waterline.web.live import WARM_UP_NUMBER, LiveHub

_log = logging.getLogger(__name__)

DEMO_MODULE = "waterline.adapters.demo"
IMPORTER_MODULE = "waterline.adapters.importer"
ENGINE_MODULE = "waterline.telephony.engine"


@dataclass(frozen=True)
class Store:
    """An open database: its engine and session factory.  ``close()`` when done."""

    url: str
    engine: Engine
    session_factory: sessionmaker[Session]

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()


def open_store(settings: Settings, *, migrate: bool = True) -> Store:
    """Open the configured database, first migrating it to the newest revision unless told not to."""
    url = settings.database_url
    if migrate:
        upgrade(url)
    engine = create_engine(url, echo=settings.db.echo)
    return Store(url=url, engine=engine, session_factory=create_session_factory(engine))


@dataclass(frozen=True)
class DemoLogin:
    """One demo account, as documented in the README."""

    username: str
    role: Role
    password: str
    display_name: str
    sip_password: str | None = None


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("owner", Role.OWNER, "owner123", "王建国（老板）"),
    DemoLogin("manager", Role.MANAGER, "manager123", "李秀英（经理）"),
    DemoLogin("dispatcher", Role.DISPATCHER, "dispatcher123", "张伟（调度）"),
    DemoLogin("agent", Role.AGENT, "agent123", "刘芳（客服）", sip_password="agent123"),
    DemoLogin("courier", Role.COURIER, "courier123", "赵强（送水员）"),
)


def ensure_demo_users(
    store: Store, settings: Settings, *, now: datetime, hasher: PasswordHasher | None = None
) -> bool:
    """Create the demo logins when the store has no users at all; True if they were created."""
    with store.session_factory() as session:
        repo = UserRepository(session, hasher)
        if repo.count() > 0:
            return False
        for login in DEMO_LOGINS:
            repo.add(
                login.username,
                login.role,
                login.password,
                now=now,
                display_name=login.display_name,
                sip_password=login.sip_password,
                sip_realm=settings.sip.realm,
            )
        session.commit()
    return True


def optional_module(name: str) -> ModuleType | None:
    """Import ``name`` if it is part of this installation, else None (features still being built)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            return None
        raise


def load_demo_data(store: Store, settings: Settings) -> str:
    """Fill an empty store with the Shaanxi demo data, if the demo module is installed.

    Returns a one-line bilingual note for the operator.
    """
    module = optional_module(DEMO_MODULE)
    if module is None:
        return "演示业务数据模块尚未提供 / demo business data module not available yet (only demo users)"
    summary = module.load_demo_data(store.session_factory)
    return f"已载入陕西演示数据 / Shaanxi demo data loaded: {summary}"


def build_app(
    settings: Settings,
    store: Store,
    *,
    hasher: PasswordHasher | None = None,
    sender: SmsSender | None = None,
    clock: Clock | None = None,
    outbox: bool = True,
) -> FastAPI:
    """The web app wired to ``store``, with the bus and (unless ``outbox`` is False) the outbox worker
    and the daily recording retention job.

    ``settings`` must carry a usable secret (``with_secret``); ``sender`` defaults to the
    configured SMS gateway, ``clock`` to the system clock. Of several web worker processes only one
    runs the outbox worker and the retention job. Every worker connects to the telephony engine's
    live channel (reconnecting while there is none).
    """
    clock = clock or SystemClock()
    uows = uow_factory(store)
    worker = outbox_worker(
        uows, sender or sms_sender(settings), clock, interval=settings.sms.outbox_interval_seconds
    )
    numbers = PhoneNumberInfo()
    live = LiveHub(card_lookup(uows, numbers))
    warm_numbers = _warm_numbers(uows)
    jobs = (worker, retention_job(store.session_factory, settings, clock.now)) if outbox else ()
    services = AppServices(
        session_factory=store.session_factory,
        hasher=hasher or default_hasher(),
        bus=build_bus(store, settings, clock),
        uow_factory=uows,
        background=(*jobs, live_job(live, socket_path(settings.data_dir), warm_numbers)),
        number_info=numbers,
        live=live,
    )
    return create_app(settings, services)


LIVE_WARM_UP_SECONDS = 5.0


def _warm_numbers(uows: Callable[[], UnitOfWork]) -> Callable[[], list[str]]:
    def numbers() -> list[str]:
        known = known_number(uows)
        return [WARM_UP_NUMBER, *([known] if known else [])]

    return numbers


def live_job(
    hub: LiveHub, path: Path, warm_numbers: Callable[[], list[str]] | None = None
) -> Callable[[], Coroutine[Any, Any, None]]:
    """The background job connecting ``hub`` to the engine's live channel at ``path``, after warming
    the card lookup up with ``warm_numbers()`` (blocking; run in a thread)."""

    async def job() -> None:
        hub.bind(asyncio.get_running_loop())

        async def warm() -> None:
            callers = await asyncio.to_thread(warm_numbers) if warm_numbers is not None else []
            await hub.warm_up(callers or [WARM_UP_NUMBER])

        # bounded: a store that does not answer must not keep the worker off the live channel
        try:
            await asyncio.wait_for(warm(), LIVE_WARM_UP_SECONDS)
        except Exception:
            _log.warning("customer card warm-up skipped", exc_info=True)
        client = LiveClient(path, hub.on_event, on_hello=hub.on_hello, on_lost=hub.on_lost)
        hub.channel = client
        await client.run()

    return job


def run_engine_child(settings: Settings) -> None:
    """Entry point of the telephony child process (spawned; must stay importable at top level)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Imported by name: the web process never loads the telephony stack, and a build without it
    # fails here with a clear error (``telephony_available`` lets the CLI check before spawning).
    importlib.import_module(ENGINE_MODULE).run_engine(settings)


def telephony_available() -> bool:
    """True when this installation has the telephony engine."""
    return optional_module(ENGINE_MODULE) is not None


class ProcessSupervisor:
    """Runs ``target(*args)`` in a spawned child process and restarts it when it crashes.

    A child that exits with status 0 stopped on purpose (e.g. the terminal's Ctrl-C reached it)
    and is not restarted; any other exit is restarted after a backoff that doubles up to
    ``max_backoff`` seconds and resets once the child has stayed up for ``stable_after`` seconds.
    """

    def __init__(
        self,
        target: Callable[..., object],
        args: tuple[Any, ...] = (),
        *,
        name: str = "waterline-telephony",
        first_backoff: float = 0.5,
        max_backoff: float = 30.0,
        stable_after: float = 60.0,
        poll_interval: float = 0.2,
    ) -> None:
        self.target = target
        self.args = args
        self.name = name
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.stable_after = stable_after
        self.poll_interval = poll_interval
        self.restarts = 0
        self._context = multiprocessing.get_context("spawn")
        self._process: multiprocessing.process.BaseProcess | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._monitor: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        """PID of the current child, if one is running."""
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    @property
    def exitcode(self) -> int | None:
        """Exit code of the last child (None while it runs or before it started)."""
        return self._process.exitcode if self._process is not None else None

    def start(self) -> None:
        """Start the child and the thread that watches it."""
        with self._lock:
            self._spawn()
        self._monitor = threading.Thread(target=self._watch, name=f"{self.name}-supervisor", daemon=True)
        self._monitor.start()

    def request_stop(self) -> None:
        """Stop restarting (call as soon as shutdown begins, e.g. from a signal handler)."""
        self._stopping.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the child: SIGTERM, then SIGKILL after ``timeout`` seconds."""
        self._stopping.set()
        if self._monitor is not None:
            self._monitor.join(timeout)
        with self._lock:
            process = self._process
            if process is None:
                return
            if process.is_alive():
                process.terminate()
                process.join(timeout)
            if process.is_alive():
                _log.warning("%s did not stop within %.0f s; killing it", self.name, timeout)
                process.kill()
                process.join(timeout)

    def _spawn(self) -> None:
        process = self._context.Process(target=self.target, args=self.args, name=self.name)
        process.start()
        self._process = process
        _log.info("%s started (pid %s)", self.name, process.pid)

    def _watch(self) -> None:
        backoff = self.first_backoff
        uptime = 0.0
        while not self._stopping.wait(self.poll_interval):
            process = self._process
            if process is None:
                return
            if process.is_alive():
                uptime += self.poll_interval
                if uptime >= self.stable_after:
                    backoff = self.first_backoff
                continue
            if process.exitcode == 0:
                _log.info("%s exited cleanly; not restarting", self.name)
                return
            _log.error(
                "%s died with exit code %s; restarting in %.1f s", self.name, process.exitcode, backoff
            )
            if self._stopping.wait(backoff):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self._spawn()
            self.restarts += 1
            uptime = 0.0
            backoff = min(backoff * 2, self.max_backoff)


class SystemClock:
    """The real time source of the service layer (``services.ports.Clock``)."""

    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        return datetime.now(UTC)


# Outbox messages marked per write transaction by the worker (at most this many resent after a crash).
OUTBOX_COMMIT_EVERY = 10


def outbox_worker(
    uow_factory: Callable[[], UnitOfWork],
    sender: SmsSender,
    clock: Clock,
    *,
    interval: float,
    policy: RetryPolicy | None = None,
) -> Callable[[], Coroutine[Any, Any, None]]:
    """A background job delivering due outbox messages every ``interval`` seconds until cancelled.

    Each pass runs in a worker thread because the store and the gateway block; a full batch is
    followed at once by another pass so a backlog drains without waiting.
    """

    def one_pass() -> DeliveryReport:
        # Committing every few messages, not each one, keeps the worker from taking the store's
        # writer lock once per SMS while orders are being placed.
        return deliver_due(
            uow_factory(), sender, clock.now(), policy=policy, commit_every=OUTBOX_COMMIT_EVERY
        )

    async def job() -> None:
        while True:
            try:
                report = await asyncio.to_thread(one_pass)
            except Exception:
                # The worker must outlive a stopped database or a broken gateway; log and retry.
                _log.exception("outbox delivery pass failed")
                report = DeliveryReport()
            if report.attempted:
                _log.info(
                    "outbox: %s sent, %s retrying, %s failed", report.sent, report.retrying, report.failed
                )
            await asyncio.sleep(0 if report.attempted >= DEFAULT_BATCH else interval)

    return job


def uow_factory(store: Store) -> Callable[[], UnitOfWork]:
    """A factory of SQLAlchemy units of work on ``store`` (service layer, importer, queries)."""
    # Map the domain classes now: objects the importer or a handler creates before the first unit of
    # work is opened would otherwise lack SQLAlchemy's instrumentation.
    start_mappers()
    # stations and products for dispatch and pricing, shared by this factory's units of work
    reference = ReferenceCache(store.session_factory)

    def make() -> UnitOfWork:
        return SqlAlchemyUnitOfWork(store.session_factory, reference)

    return make


def service_settings(settings: Settings) -> ServiceSettings:
    """The business settings the handlers follow, from the app settings."""
    return ServiceSettings(auto_dispatch=settings.dispatch.mode is DispatchMode.AUTO)


def build_bus(store: Store, settings: Settings, clock: Clock) -> MessageBus:
    """The message bus on ``store``."""
    deps = Dependencies(clock=clock, settings=service_settings(settings), calendar=StoreCalendars())
    return MessageBus(uow_factory(store), deps)


def sms_sender(settings: Settings) -> SmsSender:
    """The configured SMS gateway; raise ConfigError for an unknown one."""
    if settings.sms.sender == "log":
        return LogSmsSender(settings.data_dir)
    raise ConfigError(
        f"未知的短信网关 {settings.sms.sender!r}（可选：log）/ "
        f"unknown SMS sender {settings.sms.sender!r} (one of: log)"
    )


class FixedClock:
    """A clock stopped at one instant (``settings.flow_now``, tests only)."""

    def __init__(self, at: datetime) -> None:
        self.at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)

    def now(self) -> datetime:
        """Always the same instant."""
        return self.at


def build_ivr_desk(store: Store, settings: Settings, clock: Clock | None = None) -> IvrDesk:
    """The business answers of call flows (telephony engine process): the bus on ``store`` for
    reorders, the lookup service (number blocks, area codes, stations) for callers, the Chinese work
    calendar under the store's override table for opening hours. ``settings.flow_now`` stops the
    clock (tests)."""
    if clock is None:
        clock = FixedClock(settings.flow_now) if settings.flow_now is not None else SystemClock()
    business_clock = clock
    uows = uow_factory(store)
    numbers = PhoneNumberInfo()

    def calendar() -> ChineseWorkCalendar:
        # the override rows are few: read them per call, so an edit applies to the next call
        with uows() as uow:
            overrides = {row.day: row.is_workday for row in uow.holidays.all()}
        return ChineseWorkCalendar(overrides)

    def identify(caller: str, did: str, region: str | None = None) -> Mapping[str, object]:
        try:
            identity = identify_caller(uows(), numbers, caller, calendar=calendar(), at=business_clock.now(),
                                       region=region)
        except InvalidInput:
            # withheld or garbage caller id: an unknown caller, region unknown
            return {"caller": caller, "customer_id": None, "known": False, "region_source": "unknown"}
        return identity.as_request_result()

    def clock_of(station_id: int | None) -> Mapping[str, object]:
        return station_clock(uows(), calendar(), station_id, at=business_clock.now()).as_request_result()

    return IvrDesk(uows, build_bus(store, settings, clock), clock, identify=identify, station_clock=clock_of)
