from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import OperationalError

from waterline.adapters.db.engine import WriterGate, create_engine, create_session_factory, is_sqlite
from waterline.adapters.db.migrations import current_revision, downgrade, head_revision, upgrade


def test_sqlite_file_gets_wal_and_pragmas(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'w.sqlite3'}"
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert connection.execute(text("PRAGMA synchronous")).scalar_one() == 1  # NORMAL
            assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar_one() == 5000
    finally:
        engine.dispose()
    assert (tmp_path / "nested" / "w.sqlite3").exists()


def test_sqlite_enforces_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'fk.sqlite3'}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE p (id INTEGER PRIMARY KEY)"))
            connection.execute(text("CREATE TABLE c (id INTEGER PRIMARY KEY, p INTEGER REFERENCES p(id))"))
        with pytest.raises(Exception, match="FOREIGN KEY"):
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO c (id, p) VALUES (1, 42)"))
    finally:
        engine.dispose()


def test_unsupported_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database"):
        create_engine("mysql://u@h/db")


def test_is_sqlite() -> None:
    assert is_sqlite("sqlite:///x.db")
    assert not is_sqlite("postgresql+psycopg://u@h/db")


def test_session_factory_runs_queries(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        with create_session_factory(engine)() as session:
            assert session.execute(text("SELECT 1 + 1")).scalar_one() == 2
    finally:
        engine.dispose()


def test_migrations_upgrade_downgrade_and_are_idempotent(db_url: str) -> None:
    assert current_revision(db_url) is None
    upgrade(db_url)
    upgrade(db_url)  # a second run at start-up must be a no-op
    assert current_revision(db_url) == head_revision()
    engine = create_engine(db_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert {"users", "alembic_version"} <= tables
        constraints = {c["name"] for c in inspect(engine).get_unique_constraints("users")}
        assert "uq_users_username" in constraints
    finally:
        engine.dispose()
    downgrade(db_url, "base")
    assert current_revision(db_url) is None
    engine = create_engine(db_url)
    try:
        assert "users" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_first_revision_is_0001_users() -> None:
    from alembic.script import ScriptDirectory

    from waterline.adapters.db.migrations import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    base = script.get_revision("0001")
    assert base is not None and base.down_revision is None
    assert Path(base.path).name == "0001_users.py"


def test_sqlite_read_pragmas(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA cache_size")).scalar_one() == -8192
            assert connection.execute(text("PRAGMA mmap_size")).scalar_one() == 256 * 1024 * 1024
            assert connection.execute(text("PRAGMA temp_store")).scalar_one() == 2  # MEMORY
    finally:
        engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(admin: Engine, pid: int) -> None:
    with admin.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_idle_pg_connection_is_pinged_and_replaced(db_url: str, request: pytest.FixtureRequest) -> None:
    admin: Engine = request.getfixturevalue("pg_admin_engine")
    engine = create_engine(db_url, ping_after_idle=0.0)  # every pooled connection counts as idle
    try:
        first = _backend_pid(engine)
        _terminate(admin, first)  # as a server restart would, while the connection sits in the pool
        second = _backend_pid(engine)  # the ping finds it dead; the pool connects afresh
        assert second != first
        assert _backend_pid(engine) == second  # a live one is kept
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_recently_used_pg_connection_is_not_pinged(db_url: str, request: pytest.FixtureRequest) -> None:
    admin: Engine = request.getfixturevalue("pg_admin_engine")
    engine = create_engine(db_url, ping_after_idle=3600.0)
    try:
        first = _backend_pid(engine)
        _terminate(admin, first)
        # no ping spent on a connection used moments ago: its death shows on the next statement ...
        with pytest.raises(OperationalError):
            _backend_pid(engine)
        # ... after which SQLAlchemy discards the pool and the next request gets a fresh connection
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()


# ---------------------------------------------------------------- SQLite writer gate


def test_writer_gate_queues_other_threads_and_lets_the_holder_through() -> None:
    gate = WriterGate(timeout=0.05)
    assert gate.acquire() and gate.held
    assert not gate.acquire()  # the holder's second connection: no self-deadlock, SQLite arbitrates
    other: list[bool] = []
    thread = threading.Thread(target=lambda: other.append(gate.acquire()))
    thread.start()
    thread.join()
    assert other == [False]  # gave up after its timeout: taken by another thread
    gate.release()
    assert not gate.held
    thread = threading.Thread(target=lambda: other.append(gate.acquire()))
    thread.start()
    thread.join()
    assert other == [False, True] and gate.held


def test_writer_gates_sharing_a_lock_file_queue_each_other(tmp_path: Path) -> None:
    # Two gates on one lock file stand for two processes (flock locks belong to the open file, so
    # two gates of one process conflict just as two processes do).
    path = tmp_path / "db.sqlite3-writer.lock"
    first, second = WriterGate(timeout=0.05, lock_path=path), WriterGate(timeout=0.05, lock_path=path)
    assert first.acquire()
    results: list[bool] = []
    thread = threading.Thread(target=lambda: results.append(second.acquire()))
    thread.start()
    thread.join()
    assert results == [False] and not second.held  # timed out on the other "process"'s lock
    first.release()
    waiter = threading.Thread(target=lambda: results.append(second.acquire()))
    assert first.acquire()
    waiter.start()
    time.sleep(0.01)
    first.release()  # the waiter gets the gate as soon as it is free, well within its timeout
    waiter.join()
    assert results == [False, True] and second.held


def test_sqlite_engine_gates_writers_with_a_lock_file_next_to_the_database(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'g.sqlite3'}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        other = WriterGate(timeout=0.05, lock_path=tmp_path / "g.sqlite3-writer.lock")
        with engine.connect() as connection:
            connection.execute(text("INSERT INTO t DEFAULT VALUES"))
            assert (tmp_path / "g.sqlite3-writer.lock").exists()
            assert not other.acquire()  # another process would wait for this transaction
            connection.commit()
        assert other.acquire()
        other.release()
    finally:
        engine.dispose()


def test_sqlite_write_transaction_holds_the_gate_until_it_ends(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'g.sqlite3'}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        for end in ("commit", "rollback"):
            with engine.connect() as connection:
                dbapi = connection.connection.dbapi_connection
                assert dbapi is not None
                connection.execute(text("SELECT count(*) FROM t"))
                assert not dbapi.holds_gate  # readers never queue
                connection.execute(text("INSERT INTO t DEFAULT VALUES"))
                assert dbapi.holds_gate
                getattr(connection, end)()
                assert not dbapi.holds_gate
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
    finally:
        engine.dispose()


def test_concurrent_sqlite_writers_all_succeed(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
            connection.execute(text("INSERT INTO counter VALUES (0)"))

        def bump() -> None:
            for _ in range(25):
                with engine.begin() as connection:
                    connection.execute(text("UPDATE counter SET n = n + 1"))
                    connection.execute(text("SELECT n FROM counter"))

        threads = [threading.Thread(target=bump) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT n FROM counter")).scalar_one() == 200
    finally:
        engine.dispose()
