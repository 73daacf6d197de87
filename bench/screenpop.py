"""Screen-pop latency: from the engine publishing ``call.offered`` to the card at the agent's browser.

Usage::

    .venv/bin/python bench/screenpop.py                    # SQLite in a temporary data dir
    .venv/bin/python bench/screenpop.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test

The store is prepared like ``bench/orders.py`` (``--customers`` bulk-loaded customers, one mobile and
one address each), plus ``--agents`` agent logins. ``waterline serve`` (web only, ``--workers``) runs
as a child process; this process stands in for the telephony engine: it listens on the data dir's
live-channel socket with the real ``EventPort``, and every agent is a real WebSocket client on
``/ws/agent``. Offers are published on a fixed schedule (``--rate`` per second, open loop) to random
agents for random known callers, each followed ``--talk`` seconds later by ``call.ended``; the latency
is the receive time of the agent's ``call.offered`` (with its card) minus the ``at`` the engine put in
the event, both on this machine's clock. That is the part of "INVITE sent to the agent -> card in the
browser" that the web side adds (the engine publishes the offer in the same loop turn as it sends the
INVITE). Target: p95 < 300 ms (issue 6).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvloop
import websockets
from orders import bulk_load, database, free_port, seed, server
from sqlalchemy.engine import make_url

from waterline.adapters.db.engine import create_engine, create_session_factory
from waterline.adapters.db.migrations import upgrade
from waterline.adapters.db.users import UserRepository
from waterline.adapters.livechannel import socket_path
from waterline.calls.live import CallEnded, CallOffered
from waterline.domain.users import Role
from waterline.telephony.eventport import EventPort

AGENT_PASSWORD = "bench-agent-123"


def add_agents(url: str, count: int) -> list[str]:
    """Agent logins ``kefu001``... with one password; returns their names."""
    names = [f"kefu{n:03d}" for n in range(1, count + 1)]
    engine = create_engine(url)
    try:
        with create_session_factory(engine)() as session:
            repo = UserRepository(session)
            for name in names:
                repo.add(name, Role.AGENT, AGENT_PASSWORD, now=datetime.now(UTC))
            session.commit()
    finally:
        engine.dispose()
    return names


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def run(port: int, data_dir: Path, agents: list[str], phones: list[str], args: argparse.Namespace
              ) -> list[str]:
    """Connect the agents, publish the offers, collect the latencies; returns the report lines."""
    events = EventPort(socket_path(data_dir), clock=time.time, engine_id="bench")
    await events.start()
    received: dict[str, float] = {}
    cards: dict[str, bool] = {}
    try:
        tokens = {}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for name in agents:
                response = await client.post("/api/auth/token",
                                             data={"username": name, "password": AGENT_PASSWORD})
                response.raise_for_status()
                tokens[name] = response.json()["access_token"]
        deadline = time.monotonic() + 30
        while events.subscribers < args.workers:
            if time.monotonic() > deadline:
                raise RuntimeError("the web workers did not connect to the live channel")
            await asyncio.sleep(0.05)
        sockets = [await websockets.connect(f"ws://127.0.0.1:{port}/ws/agent?token={tokens[name]}")
                   for name in agents]
        for ws in sockets:
            json.loads(await ws.recv())  # hello

        async def listen(ws: Any) -> None:
            async for text in ws:
                message = json.loads(text)
                if message.get("type") == "call.offered":
                    received[message["call_id"]] = time.time()
                    cards[message["call_id"]] = bool(message.get("card") and message["card"].get("known"))

        listeners = [asyncio.create_task(listen(ws)) for ws in sockets]
        rng = random.Random(11)
        loop = asyncio.get_running_loop()
        sent: dict[str, float] = {}
        total = int(args.rate * args.seconds)
        start = loop.time() + 0.2
        for n in range(total):
            await asyncio.sleep(max(0.0, start + n / args.rate - loop.time()))
            call_id = f"bench-{n}"
            agent = agents[n % len(agents)]
            caller = phones[rng.randrange(len(phones))]
            at = time.time()
            sent[call_id] = at
            events.publish(CallOffered(call_id, agent, "orders", caller, "4006360888", at, waited=1.0,
                                       region="西安市", ivr_path=("welcome", "menu", "queue"), digits="0"))
            loop.call_later(args.talk, events.publish, CallEnded(call_id, time.time() + args.talk, "caller",
                                                                 agent, "orders"))
        await asyncio.sleep(3.0)  # the last cards
        for task in listeners:
            task.cancel()
        for ws in sockets:
            await ws.close()
    finally:
        await events.close()
    latencies = [(received[c] - sent[c]) * 1000 for c in sent if c in received]
    missing = len(sent) - len(latencies)
    known = sum(1 for c in sent if cards.get(c))
    if not latencies:
        return [f"no card arrived of {len(sent)} offers"]
    return [
        f"offers: {len(sent)} at {args.rate:.0f}/s to {len(agents)} agents; cards received {len(latencies)} "
        f"(with a known customer {known}), missing {missing}; dropped by the port "
        f"{events.stats.dropped}",
        f"offer -> card at the browser (ms): p50 {statistics.median(latencies):.1f}  "
        f"p95 {_pct(latencies, 95):.1f}  p99 {_pct(latencies, 99):.1f}  max {max(latencies):.1f}",
    ]


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", help="PostgreSQL server URL (a fresh schema is used); default SQLite")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--rate", type=float, default=10.0, help="offers per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--talk", type=float, default=5.0, help="seconds from an offer to its call.ended")
    parser.add_argument("--workers", type=int, default=1, help="web worker processes (serve --workers)")
    args = parser.parse_args()
    if not 1 <= args.agents <= 200 or not 0 < args.rate <= 500 or not 0 < args.seconds <= 300:
        parser.error("agents 1..200, rate 0..500/s, seconds 0..300")
    with database(args.db) as (url, data_dir):
        upgrade(url)
        phones = bulk_load(url, args.customers, random.Random(5))
        seed(url)
        agents = add_agents(url, args.agents)
        port = free_port()
        backend = make_url(url).get_backend_name()
        print(f"store: {backend}; {args.customers} customers; {args.workers} web worker(s)", flush=True)
        try:
            with server(url, data_dir, port, args.workers):
                lines = uvloop.run(run(port, data_dir, agents, phones, args))
        except RuntimeError:
            log = (data_dir / "server.log").read_text(encoding="utf-8", errors="replace")
            print("\n".join(log.splitlines()[-30:]))
            raise
        for line in lines:
            print(line)
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
