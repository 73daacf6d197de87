"""Order placement and screen-pop lookup over HTTP against a running server (prints its figures).

Usage::

    .venv/bin/python bench/orders.py                      # SQLite in a temporary data dir
    .venv/bin/python bench/orders.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test

With ``--db`` a fresh schema is created in that database for the run and dropped afterwards.
The benchmark migrates the store, bulk-loads ``--customers`` customers (Core inserts, one
transaction), seeds products, stations and couriers, starts ``waterline serve`` as a child process
on a free port, logs in, then runs two open-loop phases with fixed schedules (requests are sent at
their planned instants whether or not earlier ones have answered, so a slow server shows up as
latency rather than as a lower request rate):

1. lookups: ``GET /api/customers/lookup?phone=`` of random known phones at ``--lookup-rate``;
2. orders: ``POST /api/orders`` at ``--rate`` (each one is dispatched and queues its SMS in the same
   transaction), with screen-pop lookups at ``--mixed-lookup-rate`` alongside;
3. capacity: ``--concurrency`` clients placing orders back to back (closed loop), which shows the
   rate the server sustains when the fixed rate is more than it can take.

Targets on the 2-core reference machine: placement p95 < 20 ms at 200/s; lookup p95 < 5 ms with
100,000 customers. Latency is measured from the send to the full response, on the client.

The client shares the machine's two cores with the server, so it is lean: raw HTTP/1.1 keep-alive
connections on uvloop (a pool, opened as needed), no HTTP library; its own CPU per request is printed.
``--workers N`` runs the server with N web worker processes (``waterline serve --workers``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path

import httpx
import uvloop
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from waterline.adapters.db.engine import create_engine, create_session_factory
from waterline.adapters.db.migrations import upgrade
from waterline.adapters.db.orm import addresses_table, customer_phones_table, customers_table
from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.adapters.db.users import UserRepository
from waterline.domain.products import Product, ProductKind
from waterline.domain.regions import DISTRICTS
from waterline.domain.stations import Courier, Station, daily_hours
from waterline.domain.users import Role

ROOT = Path(__file__).resolve().parents[1]
WATERLINE = ROOT / ".venv" / "bin" / "waterline"
BATCH = 5000
# seconds a pooled client connection may sit idle before it is closed (uvicorn's keep-alive is 5 s)
IDLE_LIMIT = 4.0
USER = "bench"
PASSWORD = "bench-password-123"
# Shaanxi mobile blocks (mobile prefix + 4 digits) the generated customers' numbers come from.
BLOCKS = ("1399120", "1380918", "1337920", "1899128", "1529911", "1389101", "1899279", "1559908")
STATIONS = (
    ("雁塔小寨站", "西安市", "雁塔区", 34.2236, 108.9412, ["雁塔区", "曲江新区", "长安区"]),
    ("碑林南门站", "西安市", "碑林区", 34.2520, 108.9465, ["碑林区", "新城区", "莲湖区", "灞桥区"]),
    ("未央凤城站", "西安市", "未央区", 34.3276, 108.9478, ["未央区", "经开区", "高陵区", "阎良区"]),
    ("高新科技路站", "西安市", "高新区", 34.2330, 108.8935, ["高新区", "鄠邑区", "临潼区"]),
    ("咸阳人民路站", "咸阳市", "秦都区", 34.3308, 108.7086, ["秦都区", "渭城区", "兴平市", "三原县"]),
    ("宝鸡经二路站", "宝鸡市", "渭滨区", 34.3595, 107.1548, ["渭滨区", "金台区", "陈仓区"]),
    ("渭南站", "渭南市", "临渭区", 34.4990, 109.5000, ["临渭区"]),
)


def _phone_numbers(count: int) -> list[str]:
    # 8 blocks x 10,000 numbers covers 80,000 customers; the rest get 15x numbers (also valid
    # mainland mobiles), so 100,000 customers all have distinct, normalisable phones.
    numbers: list[str] = []
    for index in range(count):
        if index < len(BLOCKS) * 10_000:
            numbers.append(f"{BLOCKS[index % len(BLOCKS)]}{index // len(BLOCKS):04d}")
        else:
            numbers.append(f"158{index:08d}")
    return numbers


# ---------------------------------------------------------------- store preparation


@contextmanager
def database(db: str | None) -> Iterator[tuple[str, Path]]:
    """A store URL and data dir for the run: SQLite in a temp dir, or a fresh PostgreSQL schema."""
    with tempfile.TemporaryDirectory(prefix="waterline-bench-") as tmp:
        data_dir = Path(tmp)
        if db is None:
            yield f"sqlite:///{data_dir / 'waterline.sqlite3'}", data_dir
            return
        schema = f"wl_bench_{secrets.token_hex(4)}"
        admin = sa_create_engine(db)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            url = make_url(db).update_query_dict({"options": f"-csearch_path={schema}"})
            yield url.render_as_string(hide_password=False), data_dir
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()


def bulk_load(url: str, count: int, rng: random.Random) -> list[str]:
    """Insert ``count`` customers with one mobile and one address each; returns their phones."""
    numbers = _phone_numbers(count)
    districts = list(DISTRICTS.values())
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for start in range(0, count, BATCH):
                ids = range(start + 1, min(start + BATCH, count) + 1)
                connection.execute(
                    insert(customers_table),
                    [{"id": i, "name": f"客户{i}", "tier": "normal", "tags": [], "notes": ""} for i in ids],
                )
                connection.execute(
                    insert(customer_phones_table),
                    [{"customer_id": i, "number": numbers[i - 1], "label": ""} for i in ids],
                )
                rows = []
                for i in ids:
                    district = districts[rng.randrange(len(districts))]
                    rows.append(
                        {
                            "customer_id": i,
                            "city": district.city,
                            "district": district.name,
                            "detail": f"幸福路{i % 400 + 1}号{i % 30 + 1}号楼{i % 4 + 1}单元",
                            "floor": 1 + i % 30,
                            "has_elevator": i % 3 != 0,
                            "lat": round(district.lat + rng.uniform(-0.01, 0.01), 6),
                            "lon": round(district.lon + rng.uniform(-0.01, 0.01), 6),
                            "station_override_id": None,
                            "is_default": True,
                        }
                    )
                connection.execute(insert(addresses_table), rows)
            if engine.dialect.name == "postgresql":
                # bulk-inserted ids bypassed the sequences
                for table in ("customers", "customer_phones", "addresses"):
                    connection.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))"
                        )
                    )
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("ANALYZE"))
    finally:
        engine.dispose()
    return numbers


def seed(url: str) -> int:
    """Products, stations with couriers, and the bench login; returns the water product id."""
    engine = create_engine(url)
    factory = create_session_factory(engine)
    try:
        with factory() as session:
            UserRepository(session).add(USER, Role.AGENT, PASSWORD, now=datetime.now(UTC))
            session.commit()
        uow = SqlAlchemyUnitOfWork(factory)
        with uow:
            water = uow.products.add(
                Product("NFSQ-189", "农夫山泉 18.9L", "农夫山泉", ProductKind.BARREL, 18900, 2000)
            )
            # open around the clock, so the run does not depend on the hour it starts
            hours = daily_hours(clock_time(0, 0), clock_time(23, 59, 59))
            for index, (name, city, district, lat, lon, serves) in enumerate(STATIONS):
                station = uow.stations.add(Station(name, city, district, lat, lon, serves, "", hours))
                assert station.id is not None
                for n in range(3):
                    # capacity high enough that every order of the run finds a courier: the benchmark
                    # measures placement with dispatch, not a station running out of couriers
                    uow.couriers.add(
                        Courier(
                            station.id,
                            f"送水员{index}-{n}",
                            f"1399110{index}{n:03d}",
                            capacity_per_trip=10**6,
                        )
                    )
            uow.commit()
        assert water.id is not None
        return water.id
    finally:
        engine.dispose()


# ---------------------------------------------------------------- the server


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(url: str, data_dir: Path, port: int, workers: int = 1) -> Iterator[subprocess.Popen[bytes]]:
    """``waterline serve`` as a child process; stopped (by its pid) when the block ends."""
    env = {**os.environ, "WATERLINE_SECRET_KEY": secrets.token_urlsafe(32), "WATERLINE_DB": url}
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [
            str(WATERLINE),
            "serve",
            "--http",
            f"127.0.0.1:{port}",
            "--data-dir",
            str(data_dir),
            "--workers",
            str(workers),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=data_dir,
    )
    try:
        deadline = time.monotonic() + 120  # spawned workers start slowly on a busy machine
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}; see {data_dir / 'server.log'}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError("server did not answer within 120 s")
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


# ---------------------------------------------------------------- load


@dataclass
class Series:
    """Latencies (ms) and failures of one kind of request."""

    name: str
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    late_ms: list[float] = field(default_factory=list)  # how late the client sent vs its schedule

    def fail(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    def report(self, seconds: float) -> str:
        count = len(self.latencies)
        if not count:
            return f"{self.name}: no successful requests; errors {self.errors}"
        ordered = sorted(self.latencies)

        def pct(p: float) -> float:
            return ordered[min(count - 1, int(p / 100 * count))]

        late = sorted(self.late_ms)
        return (
            f"{self.name:<22} n={count:<6} {count / seconds:7.1f}/s  "
            f"p50 {pct(50):6.2f} ms  p95 {pct(95):6.2f} ms  p99 {pct(99):6.2f} ms  "
            f"max {ordered[-1]:7.2f} ms  mean {statistics.fmean(ordered):6.2f} ms  "
            f"errors {sum(self.errors.values())} {self.errors or ''}  "
            f"client lag p99 {late[min(len(late) - 1, int(0.99 * len(late)))]:.1f} ms"
        )


class HttpError(Exception):
    """The connection broke or the answer was not HTTP/1.1 as expected."""


class _Connection:
    """One keep-alive HTTP/1.1 connection: a request, then its whole answer (Content-Length)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = time.monotonic()

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise HttpError("answer without Content-Length")
        return status, await self.reader.readexactly(length)


class HttpClient:
    """Requests over a pool of keep-alive connections to one server (a new one when all are busy)."""

    def __init__(self, host: str, port: int, max_connections: int = 64) -> None:
        self.host = host
        self.port = port
        self.idle: list[_Connection] = []
        self.open = 0
        self.max_connections = max_connections
        self.freed = asyncio.Condition()
        self.headers = b""

    def authorise(self, token: str) -> None:
        """Send ``Authorization: Bearer token`` with every request."""
        self.headers = f"Authorization: Bearer {token}\r\n".encode()

    async def _take(self) -> _Connection:
        async with self.freed:
            # uvicorn closes a keep-alive connection idle for 5 s: a request sent on one fails (counted
            # as a connection error), so connections idle for IDLE_LIMIT are closed here first
            stale = time.monotonic() - IDLE_LIMIT
            for connection in [c for c in self.idle if c.idle_since < stale]:
                self.idle.remove(connection)
                connection.writer.close()
                self.open -= 1
            while not self.idle and self.open >= self.max_connections:
                await self.freed.wait()
            if self.idle:
                return self.idle.pop()
            self.open += 1
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            async with self.freed:
                self.open -= 1
                self.freed.notify()
            raise
        return _Connection(reader, writer)

    async def _give_back(self, connection: _Connection | None) -> None:
        async with self.freed:
            if connection is None:
                self.open -= 1
            else:
                connection.idle_since = time.monotonic()
                self.idle.append(connection)
            self.freed.notify()

    async def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json"
    ) -> tuple[int, bytes]:
        """Send one request; returns (status, body). ``HttpError``/``OSError`` when the exchange fails."""
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n".encode() + self.headers
        if body is not None:
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n".encode()
        connection = await self._take()
        try:
            answer = await connection.exchange(head + b"\r\n" + (body or b""))
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError, HttpError):
            connection.writer.close()
            await self._give_back(None)
            raise HttpError(f"{method} {path} failed") from None
        await self._give_back(connection)
        return answer

    async def close(self) -> None:
        """Close every idle connection."""
        for connection in self.idle:
            connection.writer.close()
        self.idle.clear()


async def _timed(
    client: HttpClient, series: Series, method: str, path: str, expect: int, body: bytes | None = None
) -> None:
    start = time.perf_counter()
    try:
        status, _ = await client.request(method, path, body)
    except HttpError:
        series.fail("connection")
        return
    elapsed = (time.perf_counter() - start) * 1000
    if status != expect:
        series.fail(str(status))
        return
    series.latencies.append(elapsed)


async def _open_loop(rate: float, seconds: float, make: object, series: Series) -> float:
    """Call ``make()`` (which returns a coroutine) at ``rate`` per second for ``seconds``; returns the
    wall time the phase took, including waiting for the last answers."""
    total = int(rate * seconds)
    start = time.perf_counter()
    tasks = []
    for n in range(total):
        planned = start + n / rate
        delay = planned - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        series.late_ms.append(max(0.0, (time.perf_counter() - planned) * 1000))
        tasks.append(asyncio.create_task(make()))  # type: ignore[operator]
    await asyncio.gather(*tasks)
    return time.perf_counter() - start


async def run_load(
    port: int, server_pid: int, phones: list[str], water_id: int, args: argparse.Namespace
) -> list[str]:
    """All phases; returns the report lines."""
    rng = random.Random(11)
    client = HttpClient("127.0.0.1", port)
    try:
        form = f"username={USER}&password={PASSWORD}".encode()
        status, answer = await client.request(
            "POST", "/api/auth/token", form, "application/x-www-form-urlencoded"
        )
        if status != 200:
            raise RuntimeError(f"login failed: {status} {answer[:200]!r}")
        client.authorise(json.loads(answer)["access_token"])
        # warm up (connections, caches, the first query plans)
        for phone in rng.sample(phones, 50):
            await client.request("GET", f"/api/customers/lookup?phone={phone}")

        lookups = Series("lookup (alone)")

        def lookup_into(series: Series) -> Awaitable[None]:
            return _timed(client, series, "GET", f"/api/customers/lookup?phone={rng.choice(phones)}", 200)

        cpu = time.process_time()
        served = ServerCpu(server_pid)
        took = await _open_loop(args.lookup_rate, args.seconds, lambda: lookup_into(lookups), lookups)
        lines = [
            lookups.report(took)
            + _client_cpu(cpu, len(lookups.latencies))
            + served.per_request(len(lookups.latencies))
        ]

        orders = Series("order placement")
        mixed = Series("lookup (with orders)")

        def place_into(series: Series) -> Awaitable[None]:
            body = {
                "customer_id": rng.randrange(1, len(phones) + 1),
                "items": [{"product_id": water_id, "quantity": rng.choice((1, 2, 2, 3))}],
                "channel": "agent",
                "pay_with_tickets": False,
            }
            return _timed(client, series, "POST", "/api/orders", 201, json.dumps(body).encode())

        cpu = time.process_time()
        served = ServerCpu(server_pid)
        order_phase = _open_loop(args.rate, args.seconds, lambda: place_into(orders), orders)
        mixed_phase = _open_loop(args.mixed_lookup_rate, args.seconds, lambda: lookup_into(mixed), mixed)
        took_orders, took_mixed = await asyncio.gather(order_phase, mixed_phase)
        client_cpu = _client_cpu(cpu, len(orders.latencies) + len(mixed.latencies))
        # the server's CPU of this phase is charged to the orders (the lookups alongside are few)
        lines.append(orders.report(took_orders) + client_cpu + served.per_request(len(orders.latencies)))
        lines.append(mixed.report(took_mixed))
        # capacity: a few clients placing orders back to back, as fast as the server answers
        capacity = Series(f"orders, {args.concurrency} clients")
        capacity.late_ms.append(0.0)
        stop_at = time.perf_counter() + args.seconds

        async def worker() -> None:
            while time.perf_counter() < stop_at:
                await place_into(capacity)

        began = time.perf_counter()
        cpu = time.process_time()
        served = ServerCpu(server_pid)
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        lines.append(
            capacity.report(time.perf_counter() - began)
            + _client_cpu(cpu, len(capacity.latencies))
            + served.per_request(len(capacity.latencies))
            + "  (closed loop: capacity)"
        )
        status, answer = await client.request("GET", "/api/orders?limit=500")
        dispatched = sum(1 for o in json.loads(answer) if o["state"] == "dispatched")
        lines.append(f"last 500 orders: {dispatched} dispatched with a courier")
    finally:
        await client.close()
    return lines


def _tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and its descendants (Linux /proc)."""
    stats: dict[int, tuple[int, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name may hold spaces: the fields after it start past the last ')'
        fields = raw[raw.rindex(")") + 2 :].split()
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    total = 0.0
    family = {pid}
    grew = True
    while grew:
        grew = False
        for child, (parent, _) in stats.items():
            if parent in family and child not in family:
                family.add(child)
                grew = True
    for member in family:
        total += stats.get(member, (0, 0.0))[1]
    return total


class ServerCpu:
    """The server's CPU per request over a phase (its process tree, from /proc; 10 ms ticks)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.since = _tree_cpu_seconds(pid)

    def per_request(self, requests: int) -> str:
        used = _tree_cpu_seconds(self.pid) - self.since
        return f"  server CPU {1000 * used / max(1, requests):.2f} ms/req"


def _client_cpu(since: float, requests: int) -> str:
    used = time.process_time() - since
    return f"  client CPU {1000 * used / max(1, requests):.2f} ms/req"


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", help="PostgreSQL server URL (a fresh schema is used); default SQLite")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=200.0, help="orders per second")
    parser.add_argument("--lookup-rate", type=float, default=100.0, help="lookups per second, lookup phase")
    parser.add_argument(
        "--mixed-lookup-rate", type=float, default=20.0, help="lookups per second, order phase"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each phase")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="clients of the closed-loop capacity phase"
    )
    parser.add_argument(
        "--show-log", type=int, default=0, metavar="N", help="print the server log's last N lines"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="web worker processes of the server (serve --workers)"
    )
    args = parser.parse_args()
    if not 1 <= args.customers <= 1_000_000 or not 0 < args.seconds <= 600:
        parser.error("customers must be 1..1,000,000 and seconds 0..600")

    with database(args.db) as (url, data_dir):
        backend = make_url(url).get_backend_name()
        upgrade(url)
        began = time.perf_counter()
        phones = bulk_load(url, args.customers, random.Random(5))
        loaded = time.perf_counter() - began
        water_id = seed(url)
        port = free_port()
        print(f"store: {backend}; {args.customers} customers bulk-loaded in {loaded:.1f} s", flush=True)
        with server(url, data_dir, port, args.workers) as process:
            lines = uvloop.run(run_load(port, process.pid, phones, water_id, args))
        print(
            f"phases of {args.seconds:.0f} s: lookups alone at {args.lookup_rate:.0f}/s, then orders at "
            f"{args.rate:.0f}/s with lookups at {args.mixed_lookup_rate:.0f}/s; "
            f"{args.workers} web worker(s); load average {os.getloadavg()[0]:.2f} at the end"
        )
        for line in lines:
            print(line)
        if args.show_log:
            log_lines = (data_dir / "server.log").read_text(encoding="utf-8", errors="replace").splitlines()
            print("\n".join(log_lines[-args.show_log :]))


if __name__ == "__main__":
    sys.exit(main())
