"""Screen-pop lookup against the store with 100,000 customers (not a test: prints its figures).

Usage: ``.venv/bin/python bench/lookup_store.py [--db URL] [--customers N] [--lookups N]``.
Without ``--db`` it uses a fresh SQLite file in a temporary directory. The PostgreSQL URL should point
at an empty database or schema (``?options=-csearch_path%3Dbench``). Measures ``services.queries.
screen_pop`` through ``SqlAlchemyUnitOfWork``: phone -> customer, addresses, last 5 orders, tickets,
buckets, in one unit of work. Target: p95 < 5 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, text

from waterline.adapters.db.engine import create_engine, create_session_factory
from waterline.adapters.db.migrations import upgrade
from waterline.adapters.db.orm import addresses_table, customer_phones_table, customers_table
from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.services.queries import screen_pop

BATCH = 5000


def _phone(n: int) -> str:
    return f"139{n:08d}"


def load(url: str, customers: int) -> None:
    """Insert ``customers`` customers, each with one mobile and one address, in batches."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for start in range(1, customers + 1, BATCH):
                ids = range(start, min(start + BATCH, customers + 1))
                connection.execute(
                    insert(customers_table),
                    [{"id": i, "name": f"客户{i}", "tier": "normal", "tags": [], "notes": ""} for i in ids],
                )
                connection.execute(
                    insert(customer_phones_table),
                    [{"customer_id": i, "number": _phone(i), "label": ""} for i in ids],
                )
                connection.execute(
                    insert(addresses_table),
                    [
                        {
                            "customer_id": i,
                            "city": "西安市",
                            "district": "雁塔区",
                            "detail": f"科技路 {i} 号",
                            "floor": 1 + i % 30,
                            "has_elevator": i % 2 == 0,
                            "lat": None,
                            "lon": None,
                            "station_override_id": None,
                            "is_default": True,
                        }
                        for i in ids
                    ],
                )
        if engine.dialect.name == "postgresql":
            # a live database has planner statistics; a freshly bulk-loaded one must be told
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("ANALYZE"))
    finally:
        engine.dispose()


def measure(url: str, customers: int, lookups: int, seed: int = 7) -> list[float]:
    """Latencies in milliseconds of ``lookups`` screen-pops of random known phones."""
    engine = create_engine(url)
    factory = create_session_factory(engine)
    rng = random.Random(seed)
    timings: list[float] = []
    try:
        for _ in range(lookups):
            phone = _phone(rng.randint(1, customers))
            started = time.perf_counter()
            pop = screen_pop(SqlAlchemyUnitOfWork(factory), phone)
            timings.append((time.perf_counter() - started) * 1000)
            assert pop is not None and pop.customer.phone_numbers == [phone]
    finally:
        engine.dispose()
    return timings


def main() -> None:
    """Load, warm up, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        upgrade(url)
        started = time.perf_counter()
        load(url, args.customers)
        print(f"loaded {args.customers} customers in {time.perf_counter() - started:.1f} s")
        measure(url, args.customers, 100)  # warm caches and the statement cache
        timings = sorted(measure(url, args.customers, args.lookups))
        q = statistics.quantiles(timings, n=100)
        print(
            f"screen-pop lookup ({args.lookups}x): p50 {q[49]:.2f} ms  p95 {q[94]:.2f} ms  "
            f"p99 {q[98]:.2f} ms  max {timings[-1]:.2f} ms"
        )


if __name__ == "__main__":
    main()
