"""Alembic environment: run by Alembic, with the connection handed over by ``migrations.upgrade``."""

from __future__ import annotations

import importlib
import pkgutil

from alembic import context
from sqlalchemy import Connection

import waterline.adapters.db as db_package
from waterline.adapters.db.engine import create_engine
from waterline.adapters.db.metadata import metadata


def _load_tables() -> None:
    # Table modules register on the shared metadata when imported; autogenerate compares
    # against all of them, so import every module of the store package.
    for module in pkgutil.iter_modules(db_package.__path__):
        if module.name != "migrations":
            importlib.import_module(f"{db_package.__name__}.{module.name}")


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        # SQLite runs DDL inside transactions too (Python's sqlite3 no longer commits before DDL),
        # so a failing revision leaves nothing half-applied on either database.
        transactional_ddl=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    _load_tables()
    if context.is_offline_mode():
        context.configure(
            url=context.config.get_main_option("sqlalchemy.url"),
            target_metadata=metadata,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None, "sqlalchemy.url is not configured"
    engine = create_engine(url)
    try:
        with engine.begin() as own_connection:
            _run(own_connection)
    finally:
        engine.dispose()


_main()
