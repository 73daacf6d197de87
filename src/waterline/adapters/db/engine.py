"""SQLAlchemy engines and session factories for the two supported stores.

SQLite (the embedded default) runs in WAL mode so the web process and the telephony process can
read while one of them writes; PostgreSQL is reached through psycopg 3 (``postgresql+psycopg://``).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Self

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

# How long a SQLite writer waits for the lock before failing (milliseconds).  Two processes share
# the file, and a blocked write of a few hundred ms must not surface as "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 5000
# Page cache per connection (KiB, hence negative) and memory-mapped reads: the screen-pop's index
# probes into 100,000 customers then come from memory instead of read() calls.
SQLITE_CACHE_KIB = 8192
SQLITE_MMAP_BYTES = 256 * 1024 * 1024
# A pooled PostgreSQL connection idle longer than this is pinged before use (see _PingIfIdle).
PG_PING_AFTER_IDLE_SECONDS = 10.0
# Connections kept open, and allowed at most, per engine. The web app runs sync routes on AnyIO's 40
# worker threads, and a request may hold two connections (the signed-in user's session and the unit of
# work); SQLAlchemy's default of 5 + 10 left threads queueing up to 30 s for a connection once a burst
# made more than seven requests overlap.
POOL_SIZE = 10
POOL_MAX_OVERFLOW = 40
# Next to a SQLite file: the lock file of the writer gate shared by every process using that file.
SQLITE_GATE_SUFFIX = "-writer.lock"
# How long a process waits between tries of another process's writer lock (doubling up to the max).
GATE_POLL_FIRST = 0.0001
GATE_POLL_MAX = 0.002


def is_sqlite(url: str) -> bool:
    """True when ``url`` names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(
    url: str, *, echo: bool = False, ping_after_idle: float = PG_PING_AFTER_IDLE_SECONDS
) -> Engine:
    """Create the engine for ``url``: a SQLite file (WAL, foreign keys on) or PostgreSQL.

    For a SQLite file the parent directory is created if missing. A PostgreSQL connection that sat in
    the pool for ``ping_after_idle`` seconds or more is checked before use and replaced when dead.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        pool: dict[str, Any] = {}
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            pool = {"pool_size": POOL_SIZE, "max_overflow": POOL_MAX_OVERFLOW}  # a file: QueuePool
        # the gate's lock file next to the database: web workers and the telephony engine queue on it
        lock_path = Path(database + SQLITE_GATE_SUFFIX) if pool else None
        gate = WriterGate(SQLITE_BUSY_TIMEOUT_MS / 1000, lock_path)
        engine = sa_create_engine(
            url, echo=echo, connect_args={"factory": _gated_connection_class(gate)}, **pool
        )
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    if backend == "postgresql":
        # A PostgreSQL restart (pg_ctlcluster) must not leave dead pooled connections. pool_pre_ping
        # would spend a round trip on every checkout, i.e. on every request, although a connection
        # used a moment ago is almost surely alive; so only connections idle for a while are pinged.
        # One that dies while busy fails its statement, and SQLAlchemy then discards the whole pool.
        engine = sa_create_engine(url, echo=echo, pool_size=POOL_SIZE, max_overflow=POOL_MAX_OVERFLOW)
        event.listen(engine, "checkin", _stamp_checkin)
        event.listen(engine, "checkout", _PingIfIdle(ping_after_idle, engine))
        return engine
    raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://")


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable in WAL mode except for the last transactions on power loss, and
        # avoids an fsync per commit.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.execute("PRAGMA temp_store=MEMORY")
    finally:
        cursor.close()


class WriterGate:
    """One SQLite write transaction at a time, queued on a lock: per process, and across processes
    when given a lock file.

    SQLite allows one writer per database. A second writer gets SQLITE_BUSY, and its busy handler
    sleeps 1, 2, 5, 10, 15, 20, 25... ms between retries, so under load writers sleep while the lock is
    free: over HTTP at 100 orders/s placement took seconds. Queued here instead, the next writer starts
    the moment the previous one commits. With ``lock_path`` the gate also holds an exclusive ``flock``
    on that file, so writers of other processes (web workers, the telephony engine) queue the same
    way, retrying every 0.1-2 ms instead of SQLite's sleeps. A thread that writes on a second
    connection while it holds the gate meets SQLite's busy handler (it would otherwise wait for itself).
    """

    def __init__(self, timeout: float, lock_path: Path | None = None) -> None:
        self.timeout = timeout
        self.lock_path = lock_path
        self._lock = threading.Lock()
        self._holder: int | None = None
        self._fd: int | None = None
        self._pid = 0

    def acquire(self) -> bool:
        """Wait for the gate (at most ``timeout`` s); False when not taken (then SQLite arbitrates)."""
        me = threading.get_ident()
        if self._holder == me:
            return False
        deadline = time.monotonic() + self.timeout
        if not self._lock.acquire(timeout=self.timeout):
            return False
        if self.lock_path is not None and not self._lock_file(deadline):
            self._lock.release()
            return False
        self._holder = me
        return True

    def release(self) -> None:
        """Open the gate for the next writer."""
        self._holder = None
        if self._fd is not None and self._pid == os.getpid():
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._lock.release()

    @property
    def held(self) -> bool:
        """True while some connection's write transaction (of this process) holds the gate."""
        return self._lock.locked()

    def _lock_file(self, deadline: float) -> bool:
        assert self.lock_path is not None
        if self._fd is None or self._pid != os.getpid():
            # opened per process: a forked child must not share (and unlock) its parent's lock
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        pause = GATE_POLL_FIRST
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                pass
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, GATE_POLL_MAX)


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _gated_connection_class(gate: WriterGate) -> type[sqlite3.Connection]:
    """A sqlite3 connection class whose first write of a transaction takes ``gate`` until it ends."""

    class GatedCursor(sqlite3.Cursor):
        def execute(self, sql: str, parameters: Any = (), /) -> Self:
            self.connection.enter_gate_for(sql)  # type: ignore[attr-defined]
            return super().execute(sql, parameters)

        def executemany(self, sql: str, parameters: Any, /) -> Self:
            self.connection.enter_gate_for(sql)  # type: ignore[attr-defined]
            return super().executemany(sql, parameters)

    class GatedConnection(sqlite3.Connection):
        holds_gate = False

        def enter_gate_for(self, sql: str) -> None:
            if not self.holds_gate and sql.lstrip()[:7].upper().startswith(_WRITES):
                self.holds_gate = gate.acquire()

        def leave_gate(self) -> None:
            if self.holds_gate:
                self.holds_gate = False
                gate.release()

        def cursor(self, factory: Any = None) -> Any:
            return super().cursor(factory or GatedCursor)

        def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
            cursor: sqlite3.Cursor = self.cursor()
            return cursor.execute(sql, parameters)

        def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
            cursor: sqlite3.Cursor = self.cursor()
            return cursor.executemany(sql, parameters)

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self.leave_gate()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self.leave_gate()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self.leave_gate()

    return GatedConnection


_CHECKED_IN_AT = "waterline_checked_in_at"


def _stamp_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info[_CHECKED_IN_AT] = time.monotonic()


class _PingIfIdle:
    """Pool ``checkout`` listener: ping a connection that idled in the pool, else hand it out as is.

    Raising ``DisconnectionError`` from a checkout listener makes the pool discard the connection and
    check out another one (SQLAlchemy's documented pessimistic disconnect handling).
    """

    def __init__(self, after: float, engine: Engine) -> None:
        self.after = after
        self.engine = engine

    def __call__(self, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in = record.info.get(_CHECKED_IN_AT)
        if checked_in is None or time.monotonic() - checked_in < self.after:
            return  # brand-new, or used moments ago
        try:
            self.engine.dialect.do_ping(dbapi_connection)
            # the ping opened a transaction (the driver is not in autocommit); start clean
            dbapi_connection.rollback()
        except Exception as exc:
            raise DisconnectionError("pooled connection is dead") from exc


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)
