"""Screen-pop lookup against the store with 100,000 customers (not a test: prints its figures).

Usage: ``.venv/bin/python bench/lookup_store.py [--db URL] [--customers N] [--orders N] [--lookups N]
[--skip-load]``. Without ``--db`` it uses a fresh SQLite file in a temporary directory. The PostgreSQL URL
should point at an empty database or schema (``?options=-csearch_path%3Dbench``); ``--skip-load``
measures a database loaded by an earlier run (same ``--customers``). Every customer gets a history of
``--orders`` delivered orders (one item, three transitions each); every third one a ticket sale and a
bucket deposit, so the lookup reads what a real caller's does. Measures ``services.queries.screen_pop``
through ``SqlAlchemyUnitOfWork``: phone -> customer, addresses, last 5 orders, tickets, buckets, in one
unit of work, and prints the SQL statements one lookup sends. Target: p95 < 5 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event, insert, text

from waterline.adapters.db.engine import create_engine, create_session_factory
from waterline.adapters.db.migrations import upgrade
from waterline.adapters.db.orm import (
    addresses_table,
    bucket_entries_table,
    customer_phones_table,
    customers_table,
    order_items_table,
    order_transitions_table,
    orders_table,
    products_table,
    ticket_entries_table,
)
from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.services.queries import screen_pop

BATCH = 5000


def _phone(n: int) -> str:
    return f"139{n:08d}"


def load(url: str, customers: int, orders: int) -> None:
    """Insert ``customers`` customers, each with one mobile, one address and a history, in batches."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(products_table),
                [
                    {
                        "id": 1,
                        "sku": "NFS-189",
                        "name": "农夫山泉 18.9L",
                        "brand": "农夫山泉",
                        "kind": "barrel",
                        "volume_ml": 18900,
                        "price_fen": 2000,
                        "active": True,
                    }
                ],
            )
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
                            "id": i,
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
                _load_history(connection, ids, orders)
        if engine.dialect.name == "postgresql":
            # a live database has planner statistics; a freshly bulk-loaded one must be told
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("ANALYZE"))
    finally:
        engine.dispose()


def _load_history(connection: Connection, ids: range, orders: int) -> None:
    start = datetime(2026, 8, 1, 2, 0, tzinfo=UTC)
    order_rows: list[dict[str, Any]] = []
    item_rows: list[dict[str, Any]] = []
    transition_rows: list[dict[str, Any]] = []
    for i in ids:
        for k in range(orders):
            order_id = (i - 1) * orders + k + 1
            placed = start + timedelta(days=7 * k, minutes=i % 600)
            order_rows.append(
                {
                    "id": order_id,
                    "number": f"SX{order_id:010d}",
                    "customer_id": i,
                    "address_id": i,
                    "channel": "agent",
                    "placed_at": placed,
                    "state": "delivered",
                    "window_start": None,
                    "window_end": None,
                    "station_id": None,
                    "courier_id": None,
                    "eta": placed + timedelta(minutes=40),
                    "pay_with_tickets": False,
                    "tickets_used": 0,
                    "empties_collected": 1,
                    "note": "",
                    "cancel_reason": "",
                }
            )
            item_rows.append(
                {
                    "order_id": order_id,
                    "product_id": 1,
                    "quantity": 1 + i % 3,
                    "unit_price_fen": 2000,
                    "paid_with_tickets": False,
                }
            )
            for step, (before, after) in enumerate(
                ((None, "placed"), ("placed", "dispatched"), ("dispatched", "delivered"))
            ):
                transition_rows.append(
                    {
                        "order_id": order_id,
                        "from_state": before,
                        "to_state": after,
                        "at": placed + timedelta(minutes=20 * step),
                        "actor": "system",
                        "reason": "",
                    }
                )
    if order_rows:
        connection.execute(insert(orders_table), order_rows)
        connection.execute(insert(order_items_table), item_rows)
        connection.execute(insert(order_transitions_table), transition_rows)
    ledger = [i for i in ids if i % 3 == 0]
    if ledger:
        at = start - timedelta(days=1)
        common = {"seq": 1, "at": at, "actor": "system", "order_id": None, "note": ""}
        connection.execute(
            insert(ticket_entries_table),
            [
                {
                    "customer_id": i,
                    "product_id": 1,
                    "station_id": None,
                    "station_key": 0,
                    "kind": "sale",
                    "quantity": 20,
                    "balance_after": 20,
                    "price_fen": 36000,
                    **common,
                }
                for i in ledger
            ],
        )
        connection.execute(
            insert(bucket_entries_table),
            [
                {
                    "customer_id": i,
                    "kind": "deposit",
                    "held_delta": 0,
                    "entitlement_delta": 2,
                    "held_after": 0,
                    "entitlement_after": 2,
                    "amount_fen": 6000,
                    **common,
                }
                for i in ledger
            ],
        )


def statements_per_lookup(url: str) -> list[str]:
    """The SQL statements one screen-pop of a customer with a history sends (verb and tables)."""
    engine = create_engine(url)
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        words = statement.split()
        tables = [words[i + 1] for i, word in enumerate(words[:-1]) if word in ("FROM", "JOIN")]
        sent.append(f"{words[0]} {' '.join(dict.fromkeys(tables))}")

    event.listen(engine, "before_cursor_execute", record)
    try:
        # customer 3 has orders, tickets and buckets
        screen_pop(SqlAlchemyUnitOfWork(create_session_factory(engine)), _phone(3))
    finally:
        engine.dispose()
    return sent


def measure(url: str, customers: int, lookups: int, seed: int = 7) -> tuple[list[float], float]:
    """Latencies in milliseconds of ``lookups`` screen-pops of random known phones, and the CPU time
    this process spent per lookup (ms): on a shared machine the CPU figure is the steadier one."""
    engine = create_engine(url)
    factory = create_session_factory(engine)
    rng = random.Random(seed)
    timings: list[float] = []
    cpu_started = time.process_time()
    try:
        for _ in range(lookups):
            phone = _phone(rng.randint(1, customers))
            started = time.perf_counter()
            pop = screen_pop(SqlAlchemyUnitOfWork(factory), phone)
            timings.append((time.perf_counter() - started) * 1000)
            assert pop is not None and pop.customer.phone_numbers == [phone]
    finally:
        engine.dispose()
    return timings, (time.process_time() - cpu_started) * 1000 / lookups


def main() -> None:
    """Load, warm up, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=3, help="orders in each customer's history")
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--skip-load", action="store_true", help="reuse a database loaded before")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        if not args.skip_load:
            upgrade(url)
            started = time.perf_counter()
            load(url, args.customers, args.orders)
            print(
                f"loaded {args.customers} customers with {args.orders} orders each "
                f"in {time.perf_counter() - started:.1f} s"
            )
        sent = statements_per_lookup(url)
        print(f"{len(sent)} SQL statements per lookup: " + " | ".join(sent))
        measure(url, args.customers, 100)  # warm caches and the statement cache
        timings, cpu = measure(url, args.customers, args.lookups)
        timings.sort()
        q = statistics.quantiles(timings, n=100)
        print(
            f"screen-pop lookup ({args.lookups}x): p50 {q[49]:.2f} ms  p95 {q[94]:.2f} ms  "
            f"p99 {q[98]:.2f} ms  max {timings[-1]:.2f} ms  client CPU {cpu:.2f} ms/lookup"
        )


if __name__ == "__main__":
    main()
