"""Batcher: items queued on the loop reach the blocking work in batches, in order, one batch at a time."""

from __future__ import annotations

import asyncio
import threading

import pytest

from waterline.telephony.batch import Batcher


class Work:
    """Blocking work that records its batches; ``gate`` holds each batch until set (when given)."""

    def __init__(self, gate: threading.Event | None = None, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.threads: set[int] = set()
        self.gate = gate
        self.fail_on = fail_on
        self.active = 0
        self.overlapped = False

    def __call__(self, batch: list[int]) -> None:
        self.active += 1
        self.overlapped = self.overlapped or self.active > 1
        try:
            self.threads.add(threading.get_ident())
            if self.gate is not None:
                assert self.gate.wait(5)
            self.batches.append(batch)
            if self.fail_on is not None and self.fail_on in batch:
                raise RuntimeError("store down")
        finally:
            self.active -= 1


def test_items_of_one_interval_go_in_one_batch_off_the_loop() -> None:
    async def scenario() -> Work:
        work = Work()
        batcher = Batcher(asyncio.get_running_loop(), work, delay=0.05)
        for n in range(5):
            batcher(n)
        assert work.batches == [] and len(batcher) == 5  # nothing before the delay
        await asyncio.sleep(0.3)
        assert work.threads and threading.get_ident() not in work.threads
        batcher(5)
        await batcher.drain()
        assert batcher.batches == 2
        return work

    assert asyncio.run(scenario()).batches == [[0, 1, 2, 3, 4], [5]]


def test_a_full_batch_starts_at_once_and_batches_never_overlap() -> None:
    async def scenario() -> Work:
        gate = threading.Event()
        work = Work(gate)
        batcher = Batcher(asyncio.get_running_loop(), work, delay=10.0, limit=3)
        for n in range(3):
            batcher(n)  # the third fills the batch: no waiting for the 10 s delay
        for n in range(3, 8):
            batcher(n)  # queued behind the batch in flight
        await asyncio.sleep(0.05)
        assert len(batcher) == 5
        gate.set()
        await asyncio.wait_for(batcher.drain(), 5)
        return work

    work = asyncio.run(scenario())
    assert work.batches == [[0, 1, 2], [3, 4, 5], [6, 7]]
    assert not work.overlapped


def test_a_failed_batch_is_counted_and_the_next_one_still_runs(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> tuple[Work, Batcher[int]]:
        work = Work(fail_on=1)
        batcher = Batcher(asyncio.get_running_loop(), work, delay=0.0)
        batcher(1)
        await batcher.drain()
        batcher(2)
        await batcher.drain()
        return work, batcher

    work, batcher = asyncio.run(scenario())
    assert work.batches == [[1], [2]]
    assert batcher.failed == 1 and batcher.batches == 2
    assert "store down" in caplog.text


def test_drain_with_nothing_queued_returns() -> None:
    async def scenario() -> int:
        batcher: Batcher[int] = Batcher(asyncio.get_running_loop(), Work(), delay=1.0)
        await asyncio.wait_for(batcher.drain(), 1)
        return batcher.batches

    assert asyncio.run(scenario()) == 0


def test_bad_settings_are_refused() -> None:
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(ValueError):
            Batcher(loop, Work(), limit=0)
        with pytest.raises(ValueError):
            Batcher(loop, Work(), delay=-1)
    finally:
        loop.close()
