"""Shared fixtures: the two databases every store test runs against.

Fixtures (use them in any test module; they need no import):

``db_url``
    A database URL, parametrized: ``"sqlite"`` (a fresh file under ``tmp_path``) and
    ``"postgresql"`` (the server at 127.0.0.1:5432, trust auth, user ``postgres``, database
    ``test``; every test gets its own freshly created schema, selected with
    ``options=-csearch_path=<schema>`` in the URL and dropped afterwards).  The PostgreSQL
    parameter carries the ``postgres`` marker (``-m "not postgres"`` deselects it).  When the
    server is unreachable the test FAILS, because CI must test both databases; set
    ``WATERLINE_SKIP_PG=1`` to skip instead.  ``WATERLINE_TEST_PG_URL`` overrides the server URL.
    The database is empty (not migrated).

``migrated_db_url``
    ``db_url`` after ``alembic upgrade head`` (all revisions, including the business tables).

``db_engine``
    A SQLAlchemy engine on ``migrated_db_url`` (SQLite pragmas applied), disposed after the test.

``session_factory``
    ``sessionmaker`` bound to ``db_engine``; the building block for unit-of-work fixtures.

Example::

    def test_something(session_factory):
        with session_factory() as session:
            ...
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from waterline.adapters.db import engine as db_engine_module
from waterline.adapters.db.migrations import upgrade

PG_URL = os.environ.get("WATERLINE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SKIP_PG = os.environ.get("WATERLINE_SKIP_PG", "") not in ("", "0", "false", "no")


def _pg_admin_engine() -> Engine:
    engine = create_engine(PG_URL, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        message = (
            f"PostgreSQL at {make_url(PG_URL).render_as_string(hide_password=True)} is not reachable: {exc}. "
            "Start it (scripts/test-deps.sh does) or set WATERLINE_SKIP_PG=1 to skip the PostgreSQL tests."
        )
        if SKIP_PG:
            pytest.skip(message)
        pytest.fail(message, pytrace=False)
    return engine


@pytest.fixture(scope="session")
def pg_admin_engine() -> Iterator[Engine]:
    """An engine on the PostgreSQL test database's default schema (to create/drop test schemas)."""
    engine = _pg_admin_engine()
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL: a SQLite file, or a fresh PostgreSQL schema (see module docstring)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    admin: Engine = request.getfixturevalue("pg_admin_engine")
    schema = f"wl_test_{secrets.token_hex(6)}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.begin() as connection:
            # A connection leaked by a failing test must turn into an error here, not a hang.
            connection.execute(text("SET LOCAL lock_timeout = '15s'"))
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture
def migrated_db_url(db_url: str) -> str:
    """``db_url`` migrated to the newest revision."""
    upgrade(db_url)
    return db_url


@pytest.fixture
def db_engine(migrated_db_url: str) -> Iterator[Engine]:
    """An engine on the migrated database, disposed after the test."""
    engine = db_engine_module.create_engine(migrated_db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(db_engine: Engine) -> sessionmaker[Session]:
    """A session factory on the migrated database."""
    return db_engine_module.create_session_factory(db_engine)
