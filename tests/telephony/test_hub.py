"""Hub timer handling: deadlines served late by at most a grain, never a wake-up spin."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from waterline.telephony.hub import TIMER_GRAIN, Address, Hub


@dataclass
class DeadlineEndpoint:
    """A sans-IO endpoint holding a heap of deadlines; ``handle_timer`` drops the due ones."""

    deadlines: list[float] = field(default_factory=list)
    timer_nows: list[float] = field(default_factory=list)
    served: int = 0

    def receive_datagram(self, data: bytes, addr: Address, now: float, transport: str = "udp") -> None:
        pass

    def datagrams_to_send(self, now: float) -> list[tuple[bytes, Address, str]]:
        return []

    def get_timer(self) -> float | None:
        return self.deadlines[0] if self.deadlines else None

    def handle_timer(self, now: float) -> None:
        self.timer_nows.append(now)
        while self.deadlines and self.deadlines[0] <= now:
            heapq.heappop(self.deadlines)
            self.served += 1

    def next_event(self) -> object | None:
        return None


@dataclass
class FakeHandle:
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class FakeLoop:
    """Just the loop calls the hub makes; ``now`` is set by the test (a coarse, lagging clock)."""

    now: float = 0.0
    scheduled: list[tuple[float, Callable[[], None], FakeHandle]] = field(default_factory=list)

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], None]) -> FakeHandle:
        handle = FakeHandle()
        self.scheduled.append((when, callback, handle))
        return handle

    def live(self) -> list[tuple[float, Callable[[], None], FakeHandle]]:
        return [entry for entry in self.scheduled if not entry[2].cancelled]


def _hub(endpoint: DeadlineEndpoint, loop: Any) -> Hub:
    return Hub(endpoint, lambda event, now: None, cast(asyncio.AbstractEventLoop, loop))


def test_close_deadlines_share_one_loop_timer_rounded_up_to_the_grain() -> None:
    endpoint = DeadlineEndpoint([1.0001, 1.0003, 1.0006])
    loop = FakeLoop(now=1.0)
    hub = _hub(endpoint, loop)
    hub.pump()
    [(when, fire, _)] = loop.live()
    assert 1.0006 <= when <= 1.0001 + TIMER_GRAIN
    fire()
    assert endpoint.served == 3 and endpoint.timer_nows == [when]


def test_a_timer_fired_by_a_lagging_clock_still_serves_its_deadline() -> None:
    # uvloop reads a millisecond clock and rounds delays: the callback for a deadline can run while
    # loop.time() is still a little before it
    endpoint = DeadlineEndpoint([2.0042])
    loop = FakeLoop(now=2.0)
    hub = _hub(endpoint, loop)
    hub.pump()
    [(when, fire, _)] = loop.live()
    loop.now = when - 0.0009
    fire()
    assert endpoint.served == 1 and endpoint.timer_nows[0] >= 2.0042
    assert len(loop.scheduled) == 1  # nothing re-armed: no wake-up loop


def test_earlier_deadline_moves_the_timer_and_later_one_does_not() -> None:
    endpoint = DeadlineEndpoint([5.0])
    loop = FakeLoop(now=0.0)
    hub = _hub(endpoint, loop)
    hub.pump()
    heapq.heappush(endpoint.deadlines, 3.0)
    hub.pump()
    heapq.heappush(endpoint.deadlines, 4.0)
    hub.pump()
    assert [entry[0] for entry in loop.live()] == [pytest.approx(3.0)]


@pytest.mark.parametrize("kind", ["asyncio", "uvloop"])
def test_dense_deadlines_on_a_real_loop_cost_a_few_wake_ups_per_grain(kind: str) -> None:
    if kind == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    endpoint = DeadlineEndpoint()

    async def run() -> None:
        running = asyncio.get_running_loop()
        hub = _hub(endpoint, running)
        start = running.time()
        for index in range(600):  # a deadline every 1/3 ms, like one call's at 3,000 calls/s
            heapq.heappush(endpoint.deadlines, start + 0.02 + index / 3000)
        hub.pump()
        for _ in range(100):  # bounded wait for the last deadline
            if not endpoint.deadlines:
                break
            await asyncio.sleep(0.01)
        hub.close()

    try:
        loop.run_until_complete(run())
    finally:
        loop.close()
    assert endpoint.served == 600
    # 0.2 s of deadlines is 40 grains; before the grain and the lagging-clock fix uvloop woke up
    # hundreds of thousands of times per second here
    assert len(endpoint.timer_nows) <= 0.2 / TIMER_GRAIN + 10
