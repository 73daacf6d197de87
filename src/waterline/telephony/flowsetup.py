"""The engine's side of call flows: loop workers, DID routes from the store, and the flow host's wiring.

Routes (DID → published flow version) are read from the store in a worker thread at start and then
every :data:`ROUTE_REFRESH` seconds, so a flow published through the API reaches the next call without
a restart while a running call keeps the version it started with. The benchmark DIDs (``bench-ivr``)
are shipped flows, routed when the diagnostic services are on.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from waterline.adapters.db.orm import start_mappers
from waterline.adapters.db.recordings import store_recording
from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.calls.flow import FlowError, parse_flow
from waterline.calls.shipped import shipped_flow
from waterline.config import Settings
from waterline.services.ports import UnitOfWork
from waterline.telephony.callflow import FlowHost, Handle, Route
from waterline.telephony.cdr import CdrWriter
from waterline.telephony.journal import Journal
from waterline.telephony.prompt import Prompt, PromptLibrary
from waterline.telephony.recording import RecordingIndex
from waterline.telephony.services import RecordingKeeper

__all__ = ["BENCH_FLOWS", "ROUTE_REFRESH", "FlowRuntime", "LoopScheduler", "LoopWorker",
           "build_flow_runtime", "load_routes"]

_log = logging.getLogger(__name__)

ROUTE_REFRESH = 2.0
"""Seconds between two reads of the DID routes."""
BENCH_FLOWS: Mapping[str, str] = {
    "bench-ivr": "bench-ivr",
    "bench-play-flow": "bench-play",
    "bench-record-flow": "bench-record",
}
"""DID → shipped flow, routed when the diagnostics are on. ``bench-play`` and ``bench-record``
themselves stay the diagnostic services; their flow versions answer under ``*-flow`` so
``bench/media.py`` can measure both in the same run. Like the diagnostic services they write the
engine journal but no call records (they are test extensions, not calls of the business)."""


class LoopWorker:
    """Runs blocking work in ``executor`` and reports back on ``loop`` (a flow host's ``Worker``)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, executor: Executor | None = None) -> None:
        self.loop = loop
        self.executor = executor
        self.pending: set[asyncio.Future[Any]] = set()

    def submit(self, work: Callable[[], Any], done: Callable[[Any, BaseException | None], None]) -> None:
        """Run ``work`` off the loop; ``done(result, error)`` on the loop afterwards."""
        future = self.loop.run_in_executor(self.executor, work)
        self.pending.add(future)

        def finished(result: asyncio.Future[Any]) -> None:
            self.pending.discard(result)
            if result.cancelled():
                return
            error = result.exception()
            try:
                done(None if error is not None else result.result(), error)
            except Exception:
                _log.exception("flow worker callback failed")

        future.add_done_callback(finished)


class LoopScheduler:
    """``call_soon``/``call_later`` of the loop, with each callback's failure logged, never raised into
    the loop (one call's bug must not take the others down)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def call_soon(self, callback: Callable[[], object]) -> object:
        """Run ``callback`` on the next loop pass."""
        return self.loop.call_soon(_guarded, callback)

    def call_later(self, delay: float, callback: Callable[[], object]) -> Handle:
        """Run ``callback`` in ``delay`` seconds."""
        return self.loop.call_later(delay, _guarded, callback)


def _guarded(callback: Callable[[], object]) -> None:
    try:
        callback()
    except Exception:
        _log.exception("flow callback failed")


def load_routes(uow_factory: Callable[[], UnitOfWork] | None, *, bench: bool,
                previous: Mapping[str, Route] | None = None) -> dict[str, Route]:
    """DID → flow from the store (published versions; blocking), plus the bench DIDs when ``bench``.

    A stored flow that no longer parses keeps the route's previous version (or is left out), logged:
    a bad edit must not take a working number down.
    """
    routes: dict[str, Route] = {}
    previous = previous or {}
    if bench:
        for did, name in BENCH_FLOWS.items():
            known = previous.get(did)
            # parsed once: a reload every 2 s must not re-validate the same YAML (CPU and GIL)
            routes[did] = known if known is not None and known.name == name and not known.cdr else Route(
                shipped_flow(name), None, name, cdr=False)
    if uow_factory is None:
        return routes
    with uow_factory() as uow:
        dids = [route.did for route in uow.flows.routes()]
        current = {did: uow.flows.current_for_did(did) for did in dids}
    for did, version in current.items():
        if version is None:
            continue
        known = previous.get(did)
        if known is not None and known.version == version.version and known.name == version.name:
            routes[did] = known  # unchanged: no reparse
            continue
        try:
            routes[did] = Route(parse_flow(version.text), version.version, version.name)
        except FlowError as exc:
            _log.error("flow %s v%s for %s does not parse: %s", version.name, version.version, did, exc)
            if known is not None:
                routes[did] = known
    return routes


class FlowRuntime:
    """The flow host of a running engine, with its route refresher and CDR recovery."""

    def __init__(self, host: FlowHost, loop: asyncio.AbstractEventLoop, worker: LoopWorker,
                 uow_factory: Callable[[], UnitOfWork] | None, records: CdrWriter | None, *, bench: bool,
                 refresh: float = ROUTE_REFRESH, warm: tuple[Callable[[], None], ...] = (),
                 ready: Callable[[], None] | None = None) -> None:
        """``warm``: slow builders run in the background once the routes are loaded; ``ready`` is called
        once they have all finished (the engine journals ``engine_ready``: until then the imports of the
        warm-up compete with SIP for the interpreter, so answers are slower)."""
        self.host = host
        self.loop = loop
        self.worker = worker
        self.uow_factory = uow_factory
        self.records = records
        self.bench = bench
        self.refresh = refresh
        self.warm = warm
        self.ready = ready
        self._warmed = not warm
        self._serving = False
        self._ready_sent = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> int:
        """Close the CDRs a crash left open (as ``failed``), load the routes, start refreshing them;
        returns how many calls were closed. Runs before the engine takes calls."""
        recovered = 0
        if self.records is not None:
            try:
                recovered = await self.loop.run_in_executor(
                    self.worker.executor, self.records.recover, datetime.now(UTC))
            except Exception:
                _log.exception("could not close the calls left open by the last run")
        await self.reload()
        builds = [self.loop.run_in_executor(self.worker.executor, build) for build in self.warm]
        if builds:
            warmed = asyncio.gather(*builds, return_exceptions=True)
            warmed.add_done_callback(lambda _done: self._warm_done())
        self._task = self.loop.create_task(self._refresh_forever())
        return recovered

    def serving(self) -> None:
        """The engine listens and takes calls (it journaled ``engine_started``): ``ready`` may follow."""
        self._serving = True
        self._maybe_ready()

    def _warm_done(self) -> None:
        self._warmed = True
        self._maybe_ready()

    def _maybe_ready(self) -> None:
        # ready means serving AND warm: a warm-up that finishes before the engine listens waits for it,
        # so the journal always has engine_started before engine_ready
        if self._warmed and self._serving and not self._ready_sent and self.ready is not None:
            self._ready_sent = True
            self.ready()

    async def reload(self) -> None:
        """Read the routes once (blocking part in the worker)."""
        previous = self.host.routes
        try:
            routes = await self.loop.run_in_executor(
                self.worker.executor,
                lambda: load_routes(self.uow_factory, bench=self.bench, previous=previous))
        except Exception:
            _log.exception("could not read the DID routes; keeping the previous ones")
            return
        self.host.set_routes(routes)

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.refresh)
            await self.reload()

    async def close(self, wait: float = 10.0) -> None:
        """Stop refreshing; wait for the last calls' recordings and CDRs."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self.worker.pending:
            await asyncio.wait(self.worker.pending, timeout=wait)


TTS_DIR = "tts"
"""Cache of synthesised phrases under the data dir (the web app's prompt preview uses the same one)."""
FLOW_WORKERS = 4
"""Threads for synthesis, business answers, recordings and CDRs: the store serialises writers anyway
(SQLite), and a few threads keep one slow answer from holding the others up."""


class Lazy:
    """Builds an expensive object on first use, in whichever worker thread needs it first.

    The business desk needs the number-block tables and the message bus (seconds of imports on a
    busy machine) and the synthesiser needs pypinyin's dictionaries: the engine must answer SIP long
    before that, so they are built in the background (:meth:`warm`) or by the first request.
    """

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._value: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        """The object, built once."""
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
        return self._value

    def warm(self) -> None:
        """Build it now (call in a worker thread); a failure is logged and retried on first use."""
        try:
            self.get()
        except Exception:
            _log.exception("building %r failed; the first request tries again", self._build)


class LazyDesk:
    """The flow host's ``Business``, built on first use."""

    def __init__(self, lazy: Lazy) -> None:
        self.lazy = lazy

    def answer(self, kind: str, args: Mapping[str, object]) -> Mapping[str, object]:
        """See :class:`waterline.services.ivr.IvrDesk`."""
        result: Mapping[str, object] = self.lazy.get().answer(kind, args)
        return result


class LazySpeaker:
    """The flow host's ``Speaker`` (offline TTS), built on first use."""

    def __init__(self, lazy: Lazy) -> None:
        self.lazy = lazy

    def prompt(self, text: str, name: str | None = None) -> Prompt:
        """See :class:`waterline.telephony.tts.Synthesizer`."""
        prompt: Prompt = self.lazy.get().prompt(text, name)
        return prompt


def build_flow_runtime(settings: Settings, loop: asyncio.AbstractEventLoop, db_engine: Engine,
                       session_factory: sessionmaker[Session], journal: Journal, prompts: PromptLibrary,
                       hangup: Callable[[str], None], rng: random.Random) -> FlowRuntime:
    """Everything a running engine needs to answer DIDs with flows, on ``db_engine``'s store."""
    start_mappers()

    def uows() -> UnitOfWork:
        return SqlAlchemyUnitOfWork(session_factory)

    def desk() -> Any:
        from waterline import bootstrap  # the wiring of the business side, with its heavy imports

        return bootstrap.build_ivr_desk(bootstrap.Store(settings.database_url, db_engine, session_factory),
                                        settings)

    def speaker() -> Any:
        from waterline.telephony.tts import Synthesizer  # pypinyin's dictionaries: seconds to load

        return Synthesizer(settings.data_dir / TTS_DIR)

    worker = LoopWorker(loop, ThreadPoolExecutor(max_workers=FLOW_WORKERS, thread_name_prefix="flow"))
    # the flow host stores its recordings itself (it needs their ids for the CDR and the voicemail
    # task): this keeper only writes the index line and the journal entry
    keeper = RecordingKeeper(settings.data_dir, journal, time.time)
    data_dir = settings.data_dir

    def store_one(index: RecordingIndex) -> int | None:
        return store_recording(session_factory, index, data_dir=data_dir, now=datetime.now(UTC)).id

    records = CdrWriter(uows)

    def ready() -> None:
        # The warm-up's imports (business side, TTS dictionaries: ~230,000 objects) live as long as the
        # process: move them out of the collector's sight as engine.tune_gc did with the start-up's, or
        # every full collection under call load walks them again (measured: a full collection of the
        # idle engine after the warm-up took 77 ms of CPU, after this freeze ~0).
        gc.freeze()
        journal.write("engine_ready", time.time())
        journal.flush()

    lazy_desk, lazy_speaker = Lazy(desk), Lazy(speaker)
    host = FlowHost(
        routes={}, prompts=prompts, speaker=LazySpeaker(lazy_speaker), business=LazyDesk(lazy_desk),
        records=records, scheduler=LoopScheduler(loop), worker=worker, hangup=hangup, data_dir=data_dir,
        clock=time.monotonic, wallclock=time.time, rng=random.Random(rng.getrandbits(64)),
        store_recording=store_one, on_recording=keeper.add, timezone=ZoneInfo(settings.display_timezone),
    )
    return FlowRuntime(host, loop, worker, uows, records, bench=settings.demo or settings.diagnostics,
                       warm=(lazy_desk.warm, lazy_speaker.warm),
                       ready=ready)
