"""The engine side of flows: DID routes from the store, the loop worker and scheduler."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import pytest

from fakes import FakeStore
from waterline.calls.shipped import shipped_text
from waterline.telephony.flowsetup import BENCH_FLOWS, FlowRuntime, LoopScheduler, LoopWorker, load_routes

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _publish(store: FakeStore, name: str, text: str, did: str | None = None) -> int:
    with store.uow() as uow:
        version = uow.flows.add_version(name, text, author="test", at=T0)
        uow.flows.publish(name, version.version, at=T0)
        if did is not None:
            uow.flows.set_route(did, name, at=T0)
        uow.commit()
    return version.version


def test_routes_are_the_published_versions_of_routed_flows() -> None:
    store = FakeStore()
    _publish(store, "default", shipped_text("default"), "4006360888")
    _publish(store, "unrouted", shipped_text("bench-play"))
    routes = load_routes(store.uow, bench=False)
    assert set(routes) == {"4006360888"}
    route = routes["4006360888"]
    assert (route.flow_name, route.version, route.cdr) == ("default", 1, True)
    assert route.flow.start == "welcome"


def test_a_new_version_reaches_the_next_load_and_an_unchanged_one_is_not_reparsed() -> None:
    store = FakeStore()
    _publish(store, "default", shipped_text("default"), "4006360888")
    first = load_routes(store.uow, bench=False)
    again = load_routes(store.uow, bench=False, previous=first)
    assert again["4006360888"] is first["4006360888"]
    _publish(store, "default", shipped_text("bench-play").replace("name: bench-play", "name: default"))
    newer = load_routes(store.uow, bench=False, previous=again)
    assert newer["4006360888"].version == 2
    assert newer["4006360888"].flow.start == "play"


def test_a_stored_flow_that_no_longer_parses_keeps_the_previous_version() -> None:
    store = FakeStore()
    _publish(store, "default", shipped_text("default"), "4006360888")
    first = load_routes(store.uow, bench=False)
    _publish(store, "default", "name: default\nstart: nowhere\nnodes: {}\n")
    kept = load_routes(store.uow, bench=False, previous=first)
    assert kept["4006360888"] is first["4006360888"]
    assert load_routes(store.uow, bench=False) == {}  # nothing to fall back on: left out


def test_bench_routes_need_the_diagnostics_and_write_no_records() -> None:
    routes = load_routes(None, bench=True)
    assert set(routes) == set(BENCH_FLOWS)
    assert all(not route.cdr for route in routes.values())
    assert routes["bench-ivr"].flow_name == "bench-ivr"
    assert load_routes(None, bench=False) == {}


def test_loop_worker_reports_results_and_errors_on_the_loop() -> None:
    async def scenario() -> list[tuple[object, str | None]]:
        loop = asyncio.get_running_loop()
        worker = LoopWorker(loop)
        got: list[tuple[object, str | None]] = []
        scheduler = LoopScheduler(loop)

        def boom() -> int:
            raise ValueError("no")

        worker.submit(lambda: 41 + 1, lambda r, e: got.append((r, None if e is None else str(e))))
        worker.submit(boom, lambda r, e: got.append((r, None if e is None else str(e))))
        await asyncio.wait(set(worker.pending), timeout=5)
        await asyncio.sleep(0)
        fired: list[str] = []
        scheduler.call_soon(lambda: 1 / 0)  # logged, never raised into the loop
        scheduler.call_later(0.01, lambda: fired.append("later"))
        handle = scheduler.call_later(0.01, lambda: fired.append("cancelled"))
        handle.cancel()
        await asyncio.sleep(0.05)
        assert fired == ["later"]
        return got

    assert sorted(asyncio.run(scenario()), key=str) == sorted([(42, None), (None, "no")], key=str)


@pytest.mark.parametrize("did", sorted(BENCH_FLOWS))
def test_every_bench_did_names_a_shipped_flow(did: str) -> None:
    assert load_routes(None, bench=True)[did].flow.name == BENCH_FLOWS[did]


def test_bench_routes_are_parsed_once() -> None:
    first = load_routes(None, bench=True)
    again = load_routes(None, bench=True, previous=first)
    assert all(again[did] is first[did] for did in BENCH_FLOWS)


class _Host:
    """What FlowRuntime.reload needs of a flow host."""

    def __init__(self) -> None:
        self.routes: dict[str, object] = {}

    def set_routes(self, routes: dict[str, object]) -> None:
        self.routes = routes


@pytest.mark.parametrize("warm_first", [True, False])
def test_ready_follows_both_the_warm_up_and_serving_whichever_comes_last(warm_first: bool) -> None:
    async def scenario() -> list[str]:
        loop = asyncio.get_running_loop()
        said: list[str] = []
        release = threading.Event()
        runtime = FlowRuntime(
            _Host(), loop, LoopWorker(loop), None, None, bench=False, refresh=3600,  # type: ignore[arg-type]
            warm=(lambda: None if release.wait(5) else None,), ready=lambda: said.append("ready"))
        await runtime.start()
        if warm_first:
            release.set()
            await asyncio.sleep(0.2)
            assert said == []  # warm, but the engine does not listen yet
            said.append("started")
            runtime.serving()
        else:
            said.append("started")
            runtime.serving()
            await asyncio.sleep(0.05)
            assert said == ["started"]  # listening, still warming up
            release.set()
        for _ in range(100):
            if "ready" in said:
                break
            await asyncio.sleep(0.02)
        runtime.serving()  # a second call says nothing more
        await runtime.close()
        return said

    assert asyncio.run(scenario()) == ["started", "ready"]
