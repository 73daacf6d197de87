"""Blocking work for many small items, done a batch at a time off the event loop.

Indexing each finished recording in the store in its own transaction cost ~1 ms of CPU, nearly all of
it Python (SQLAlchemy) that holds the interpreter the media loop needs: at a couple of hundred
recordings a second the worker threads starved the pacer. A :class:`Batcher` takes the items on the
loop and, at most ``delay`` seconds after the first one, hands everything queued to ``work(batch)`` in
the loop's executor, one batch at a time (in order, never two at once): one transaction for a batch
of 50 costs ~50 us a recording.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Batcher"]

_log = logging.getLogger(__name__)

T = TypeVar("T")


class Batcher(Generic[T]):
    """Call it with items on the loop; ``work(items)`` runs in the executor, a batch at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop, work: Callable[[list[T]], object], *,
                 delay: float = 0.5, limit: int = 500) -> None:
        """``work`` gets at most ``limit`` items per call, at most ``delay`` s after the first is queued
        (sooner when ``limit`` are waiting). A failing batch is logged and dropped (the items' other
        records, e.g. the recordings' index file, still name them)."""
        if delay < 0 or limit < 1:
            raise ValueError("delay must be >= 0 and limit positive")
        self._loop = loop
        self._work = work
        self.delay = delay
        self.limit = limit
        self._items: list[T] = []
        self._timer: asyncio.TimerHandle | None = None
        self._running: asyncio.Future[object] | None = None
        self.batches = 0
        self.failed = 0

    def __call__(self, item: T) -> None:
        """Queue ``item`` (on the loop's thread)."""
        self._items.append(item)
        if self._running is not None:
            return  # the batch in flight schedules the next one when it is done
        if len(self._items) >= self.limit:
            self._start()
        elif self._timer is None:
            self._timer = self._loop.call_later(self.delay, self._start)

    def __len__(self) -> int:
        """Items waiting for a batch (not counting the one in flight)."""
        return len(self._items)

    def _start(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._running is not None or not self._items:
            return
        batch, self._items = self._items[: self.limit], self._items[self.limit:]
        self._running = self._loop.run_in_executor(None, self._work, batch)
        self._running.add_done_callback(self._done)

    def _done(self, future: asyncio.Future[object]) -> None:
        self._running = None
        self.batches += 1
        if not future.cancelled() and future.exception() is not None:
            self.failed += 1
            _log.error("a batch of %s failed", getattr(self._work, "__name__", "work"),
                       exc_info=future.exception())
        if len(self._items) >= self.limit:
            self._start()
        elif self._items and self._timer is None:
            self._timer = self._loop.call_later(self.delay, self._start)

    async def drain(self) -> None:
        """Run everything queued now and wait until it is done (engine stop)."""
        while self._items or self._running is not None:
            if self._running is None:
                self._start()
            running = self._running
            if running is not None:
                await asyncio.wait([running])
