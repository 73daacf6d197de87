"""The telephony engine process: one event loop, UDP and TCP on the same port, one SIP endpoint.

``waterline serve --sip HOST:PORT`` runs :func:`run_engine` in a child process; ``python -m
waterline.telephony`` runs it standalone. The loop is uvloop when installed, unless
``WATERLINE_LOOP=asyncio`` asks for the stock loop (the benchmark compares both).
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
import os
import random
import resource
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from waterline.adapters.db.engine import create_engine, create_session_factory
from waterline.adapters.db.recordings import store_recordings
from waterline.adapters.livechannel import socket_path
from waterline.calls.live import RecordCall
from waterline.config import Settings
from waterline.sip import events as ev
from waterline.sip.auth import DigestServer
from waterline.sip.endpoint import Endpoint, EndpointConfig
from waterline.sip.policy import DigestAuthenticator, EdgePolicy
from waterline.sip.registrar import Registrar
from waterline.sip.transaction import TimerConfig
from waterline.telephony.agentcalls import AgentCalls
from waterline.telephony.agents import AgentDirectory, fetch_from_store
from waterline.telephony.batch import Batcher
from waterline.telephony.bindings import FileRegistrationStore
from waterline.telephony.bridge import Transfers, policy_from_settings
from waterline.telephony.distributor import Distributor, LegChain
from waterline.telephony.eventport import EventPort
from waterline.telephony.flowsetup import build_flow_runtime
from waterline.telephony.hold import CallerHold
from waterline.telephony.hub import Hub
from waterline.telephony.journal import Journal
from waterline.telephony.media import MediaEngine
from waterline.telephony.pacer import Pacer, loop_sleep_until
from waterline.telephony.prompt import DEFAULT_PROMPT_DIR, PromptLibrary
from waterline.telephony.recordcontrol import RecordControl
from waterline.telephony.recording import RecordingIndex
from waterline.telephony.rtpport import PortPool
from waterline.telephony.services import Diagnostics, RecordingKeeper
from waterline.telephony.switch import Switch
from waterline.telephony.tcp import TcpDriver
from waterline.telephony.udp import DEFAULT_RCVBUF, make_udp_socket, open_udp

_log = logging.getLogger(__name__)

LOOP_ENV = "WATERLINE_LOOP"
JOURNAL_PATH = Path("logs") / "telephony.jsonl"
REGISTRATIONS_FILE = "registrations.json"
DIGEST_ALGORITHMS = ("MD5", "SHA-256")
"""Challenge order. MD5 first: most desk phones in use (and SIPp) answer the first challenge and know
only MD5, and a phone that fails the first challenge never registers. RFC 8760 clients can still
answer the SHA-256 one."""
FLUSH_INTERVAL = 0.5
SHUTDOWN_GRACE = 0.2
GC_THRESHOLD = 20_000
PACER_STOP_WAIT = 1.0
INDEX_DRAIN_WAIT = 10.0
RecordingHook = Callable[[RecordingIndex], None]


def choose_loop(requested: str | None) -> str:
    """Resolve "asyncio" | "uvloop" | "auto"/None to the loop that will actually run."""
    wanted = (requested or "auto").strip().lower()
    if wanted not in ("auto", "asyncio", "uvloop"):
        raise ValueError(f"{LOOP_ENV} must be asyncio, uvloop or auto, not {requested!r}")
    if wanted == "asyncio":
        return "asyncio"
    try:
        import uvloop  # noqa: F401  (probe only)
    except ImportError:
        if wanted == "uvloop":
            raise
        return "asyncio"
    return "uvloop"


def _loop_factory(kind: str) -> Callable[[], asyncio.AbstractEventLoop]:
    if kind == "uvloop":
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
        return factory
    return asyncio.new_event_loop


@dataclass(slots=True)
class Running:
    """What a started engine exposes: its drivers and where it listens."""

    hub: Hub
    switch: Switch
    media: MediaEngine
    host: str
    port: int
    loop_kind: str
    events: EventPort | None = None


def build_endpoint(
    settings: Settings,
    host: str,
    port: int,
    rng: random.Random,
    *,
    agents: AgentDirectory | None = None,
    registrar: Registrar | None = None,
) -> Endpoint:
    """The sans-IO SIP endpoint for these settings, listening (as far as it knows) on host:port.

    With ``agents`` the endpoint challenges agents' requests (digest, realm ``settings.sip.realm``);
    with ``registrar`` too it accepts their REGISTERs.
    """
    config = EndpointConfig(
        host=host,
        port=port,
        timers=TimerConfig(t1=settings.sip.t1, t2=settings.sip.t2, t4=settings.sip.t4),
        policy=EdgePolicy.from_specs(settings.sip.trunk_networks, trust_loopback=settings.sip.trust_loopback),
    )
    authenticator = None
    if agents is not None:
        # Nonces signed with the installation's secret stay valid across a restart; without one
        # (standalone runs) a per-process secret only costs the phones one extra challenge.
        secret = settings.secret_key.get_secret_value().encode() if settings.secret_key else b""
        if len(secret) < 16:
            secret = os.urandom(32)
        digest = DigestServer(realm=settings.sip.realm, secret=secret, rng=rng, algorithms=DIGEST_ALGORITHMS)
        authenticator = DigestAuthenticator(digest, agents.lookup)
    return Endpoint(config, rng=rng, authenticator=authenticator, registrar=registrar)


def run_engine(settings: Settings, *, on_recording: RecordingHook | None = None) -> None:
    """Run the telephony engine until SIGTERM or SIGINT, then close cleanly (blocking).

    Listens on ``settings.sip.listen`` with UDP and TCP, writes calls and registrations to
    ``<data_dir>/logs/telephony.jsonl`` and stderr. ``on_recording`` is called (on the engine's loop)
    with the index record of every finished or recovered recording, to persist it in the store.
    """
    if settings.sip.listen is None:
        raise ValueError("run_engine needs settings.sip.listen (HOST:PORT)")
    kind = choose_loop(os.environ.get(LOOP_ENV))
    tune_gc()
    raise_file_limit()
    with asyncio.Runner(loop_factory=_loop_factory(kind)) as runner:
        runner.run(serve(settings, loop_kind=kind, on_recording=on_recording))


def index_in_store(
    loop: asyncio.AbstractEventLoop, session_factory: Callable[[], Session], data_dir: Path
) -> Batcher[RecordingIndex]:
    """The default recording hook: index finished WAVs in the store (``GET /api/recordings``).

    Batched: the recordings finished within half a second go in one transaction, in the loop's thread
    pool, never on the media loop (one transaction per recording cost ~1 ms of CPU, mostly Python that
    holds the interpreter the media loop needs). A failed batch is logged and the lines in
    ``recordings/index.jsonl`` (written before the hook runs) still list the files. Await its
    ``drain()`` before the store is closed.
    """

    def store(batch: list[RecordingIndex]) -> None:
        store_recordings(session_factory, batch, data_dir=data_dir, now=datetime.now(UTC))

    return Batcher(loop, store)


def raise_file_limit() -> int:
    """Raise the soft limit of open files to the hard one: every call holds two RTP/RTCP sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        wanted = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            return wanted
        except (ValueError, OSError):
            pass
    return soft


def tune_gc() -> None:
    """Keep the cyclic garbage collector from stalling SIP for hundreds of milliseconds.

    At thousands of calls/s the endpoint holds ~10^5 live objects (transactions wait 32 s in their
    completed states, §17); with the default thresholds a full collection walks all of them every
    couple of seconds and pauses the loop for up to ~0.4 s, long enough for every client's 500 ms
    retransmission timer to fire at once. Objects alive now (modules, settings) are frozen out of
    collection, and young collections run ~30x less often, so older generations fill more slowly.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 20, 100)


async def serve(
    settings: Settings,
    *,
    loop_kind: str = "asyncio",
    stop: asyncio.Event | None = None,
    on_ready: Callable[[Running], None] | None = None,
    mirror_to_stderr: bool = True,
    on_recording: RecordingHook | None = None,
) -> None:
    """Serve SIP and media until ``stop`` is set (or SIGTERM/SIGINT when ``stop`` is None)."""
    assert settings.sip.listen is not None
    host, port = settings.sip.listen
    loop = asyncio.get_running_loop()
    if stop is None:
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    journal = Journal(settings.data_dir / JOURNAL_PATH, sys.stderr if mirror_to_stderr else None)
    # Tags, branches and Call-IDs must not repeat across restarts: seed from the OS once, here at the edge.
    rng = random.Random(int.from_bytes(os.urandom(16), "big"))
    # The endpoint needs the bound port for its Via and Contact headers, and port 0 means "any":
    # bind the UDP socket first, then build the endpoint around the real address.
    sock = make_udp_socket(host, port, DEFAULT_RCVBUF)
    bound_host, bound_port = sock.getsockname()[:2]
    store = create_engine(settings.database_url)
    session_factory = create_session_factory(store)
    fetch = fetch_from_store(session_factory)
    indexer: Batcher[RecordingIndex] | None = None
    if on_recording is None:
        on_recording = indexer = index_in_store(loop, session_factory, settings.data_dir)
    agents = AgentDirectory(fetch, settings.sip.realm, time.monotonic)
    registrar = Registrar(FileRegistrationStore(settings.data_dir / REGISTRATIONS_FILE, loop.time, time.time))
    endpoint = build_endpoint(settings, bound_host, bound_port, rng, agents=agents, registrar=registrar)
    # One pacer for every leg, on the monotonic clock (finer than uvloop's millisecond loop.time()).
    pacer = Pacer(time.monotonic, loop_sleep_until(time.monotonic, loop), _discard)
    media = MediaEngine(loop, PortPool(settings.media.port_min, settings.media.port_max, rng=rng), pacer, rng,
                        host=bound_host, clock=time.monotonic, wallclock=time.time)
    keeper = RecordingKeeper(settings.data_dir, journal, time.time, on_recording)
    # recordings cut off by a crash become WAVs before any new call can start one
    keeper.recover()
    pending: set[asyncio.Future[RecordingIndex]] = set()

    def offload(work: Callable[[], RecordingIndex], done: Callable[[RecordingIndex], None]) -> None:
        future = loop.run_in_executor(None, work)
        pending.add(future)

        def finished(result: asyncio.Future[RecordingIndex]) -> None:
            pending.discard(result)
            if result.cancelled():
                return
            error = result.exception()
            if error is not None:
                _log.error("finishing a recording failed", exc_info=error)
                return
            done(result.result())

        future.add_done_callback(finished)

    def hangup_now(leg: str) -> None:
        if switch.hangup(leg, loop.time()):
            hub.pump()

    def schedule_hangup(leg: str) -> None:
        # services decide to hang up from inside a pacer tick: the SIP work waits for the next loop pass
        loop.call_soon(hangup_now, leg)

    prompts = PromptLibrary([settings.data_dir / "prompts", DEFAULT_PROMPT_DIR])
    diagnostics = Diagnostics(
        prompts, keeper,
        hangup=schedule_hangup,
        clock=time.monotonic, wallclock=time.time, bench=settings.demo or settings.diagnostics,
        timezone=ZoneInfo(settings.display_timezone), offload=offload,
    )
    # live events to the web workers and their console commands (the ACD host publishes through it)
    events = EventPort(socket_path(settings.data_dir), clock=time.time,
                       engine_id=f"{rng.getrandbits(64):016x}")
    flows = build_flow_runtime(settings, loop, store, session_factory, journal, prompts, schedule_hangup, rng)
    switch = Switch(endpoint, journal, clock=time.time, media=media, diagnostics=diagnostics,
                    flows=flows.host)
    # SDP names the public media address when one is configured (NAT), else the bound one
    switch.set_local_address(settings.media.public_address or bound_host, bound_port)
    hub = Hub(endpoint, switch.handle, loop)

    def send_transfer(command: ev.Command) -> str | None:
        leg = endpoint.send(command, loop.time())
        loop.call_soon(hub.pump)  # maybe from inside the hub's own event handling: pump after it
        return leg

    media_ip = settings.media.public_address or bound_host
    transfers = Transfers(
        send=send_transfer, media=media, journal=journal, call_later=loop.call_later, clock=time.monotonic,
        wallclock=time.time, rng=random.Random(rng.getrandbits(64)), media_ip=lambda: media_ip,
        policy=policy_from_settings(
            settings, lambda user: [b.contact for b in registrar.lookup_user(user, loop.time())]),
    )
    flows.host.transfers = transfers
    distributor = Distributor(
        send=send_transfer, media=media, policy=transfers.policy, journal=journal,
        scheduler=flows.host.scheduler, worker=flows.worker, uow_factory=flows.uow_factory,
        wallclock=time.time, clock=time.monotonic,
        registered=lambda user: [b.contact for b in registrar.lookup_user(user, loop.time())],
        rng=random.Random(rng.getrandbits(64)), media_ip=lambda: media_ip, on_event=events.publish,
        hangup=schedule_hangup, timezone=ZoneInfo(settings.display_timezone), speak=flows.host.speak,
    )
    for name, handler in distributor.command_handlers().items():
        events.on_command(name, handler)
    recordings = RecordControl(find=flows.host.find, journal=journal, wallclock=time.time)
    events.on_command(RecordCall.NAME, recordings.handle)  # pause/resume a call's recording on demand
    flows.host.queues = distributor
    transfers.agent_busy = distributor.agent_in_use
    switch.agent_calls = AgentCalls(
        policy=transfers.policy, journal=journal, scheduler=flows.host.scheduler, worker=flows.worker,
        uow_factory=flows.uow_factory, speak=flows.host.speak, hangup=schedule_hangup, clock=time.monotonic,
        wallclock=time.time, acd=distributor)
    switch.transfers = LegChain(transfers, distributor)
    hold = CallerHold(send=send_transfer, find=lambda leg: distributor.bridged(leg) or transfers.bridged(leg),
                      journal=journal, wallclock=time.time, call_later=loop.call_later,
                      rng=random.Random(rng.getrandbits(64)), media_ip=lambda: media_ip)
    switch.on_reoffer = hold.reoffered  # the caller's hold re-INVITE goes on to the bridged agent or target
    distributor.on_reinvite_answered = transfers.on_reinvite_answered = hold.answered
    recovered = await flows.start()  # calls a crash left open are closed, and routes read, before any call
    distributor.start()
    if recovered:
        journal.write("calls_recovered", time.time(), failed=recovered)
    udp = await open_udp(hub, sock)
    pacer_task = loop.create_task(pacer.run())

    def connection_lost(addr: tuple[str, int]) -> None:
        endpoint.connection_lost(addr, loop.time())
        hub.pump()

    tcp = TcpDriver(hub, on_connection_lost=connection_lost)
    try:
        await tcp.listen(host, bound_port)
        await events.start()
        journal.write("engine_started", time.time(), host=bound_host, port=bound_port, loop=loop_kind)
        journal.flush()
        flows.serving()
        if on_ready is not None:
            on_ready(Running(hub, switch, media, bound_host, bound_port, loop_kind, events))
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), FLUSH_INTERVAL)
            except TimeoutError:
                pass
            now = loop.time()
            switch.expire(now)
            expiry = registrar.next_expiry()
            if expiry is not None and expiry <= now:
                for aor in registrar.expire(now):
                    if not registrar.lookup(aor, now):
                        journal.write("unregistered", time.time(), aor=aor, reason="expired")
            hub.pump()
            media.send_reports()
            journal.flush()
        # Hang up what is still up, and give the BYEs a moment to leave (TCP writes are buffered).
        if switch.hangup_all(loop.time()):
            hub.pump()
            await asyncio.sleep(SHUTDOWN_GRACE)
    finally:
        hub.close()
        udp.close()
        await tcp.close()
        await events.close()
        switch.close_media()
        media.close_all()
        pacer.stop()
        try:
            await asyncio.wait_for(pacer_task, PACER_STOP_WAIT)
        except TimeoutError:
            pass
        if pending:
            # recordings of the last calls are being mixed: index them before the journal closes
            await asyncio.wait(pending, timeout=10.0)
        if indexer is not None:
            try:
                await asyncio.wait_for(indexer.drain(), INDEX_DRAIN_WAIT)
            except TimeoutError:
                _log.error("the store did not index the last recordings within %s s", INDEX_DRAIN_WAIT)
        distributor.stop()
        await flows.close()
        stats = {f"sip_{name}": value for name, value in dataclasses.asdict(endpoint.stats).items()}
        pacing = {f"pacer_{name}": value for name, value in dataclasses.asdict(pacer.stats).items()}
        journal.write(
            "engine_stopped", time.time(), errors=hub.errors, calls=switch.calls_total,
            tcp_framing_errors=tcp.framing_errors, udp_send_errors=udp.send_errors, udp_received=udp.received,
            udp_batches=udp.batches, live_published=events.stats.published, live_cut_off=events.stats.cut_off,
            media_sessions=media.opened, rtp_ports_exhausted=media.pool.exhausted,
            pacer_send_p99_ms=round(pacer.send_jitter.percentile(99) * 1000, 2), **stats, **pacing,
        )
        journal.close()
        store.dispose()


def _discard(data: bytes, addr: tuple[str, int]) -> None:
    """The pacer's default way out; every media session registers its own socket instead."""
