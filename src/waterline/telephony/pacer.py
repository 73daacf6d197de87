"""One shared media ticker for every outbound RTP stream of the process.

A task or timer per stream costs a wake-up per stream per 20 ms; at a few thousand streams the event
loop spends its time scheduling rather than sending and the send jitter explodes. Here one loop wakes
on a sub-tick grid (``slots`` ticks per frame interval, 4 ms by default), and every stream belongs to
one slot: each wake-up serves only that slot's streams, so the sends of thousands of streams are
spread evenly over the 20 ms instead of leaving in one burst. Each stream still sends every 20 ms on
its own slot's schedule; more slots only make the bursts smaller, and every wake-up costs: measured
with 750 idle streams on uvloop (bench/pacer_ticks.py), 1,000 wake-ups a second (1 ms slots) took 5.1-6.4 %
of a core, 250 (4 ms) 3.5-3.9 %, 50 (one slot) 1.2-1.4 %.

Time is injected. Tick ``n`` is due at ``start + n * interval / slots`` — an absolute schedule, so a
late wake-up never shifts the following ticks and no drift builds up. After a late wake-up the missed
ticks are caught up by policy: every stream sends at most ``max_burst`` frames in one go (1 = skip
the missed frames, >1 = burst them out); older missed frames are skipped and the stream's source is
told how many, so it can advance its media clock (RTP timestamp, prompt position) to stay in time.

The source of a stream is a callable ``source(skipped) -> datagram | None``: ``skipped`` is the number
of frame periods the pacer skipped for that stream since its previous call (normally 0); ``None``
sends nothing this period. :class:`FrameQueue` is such a source for frames produced elsewhere (relay).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = [
    "Address",
    "FrameQueue",
    "FrameSource",
    "JitterStats",
    "PacedStream",
    "Pacer",
    "SendDatagram",
    "SleepUntil",
    "loop_sleep_until",
]

_log = logging.getLogger(__name__)

Address = tuple[str, int]
SendDatagram = Callable[[bytes, Address], None]
FrameSource = Callable[[int], bytes | None]
"""A stream's source. The datagram it returns is sent before the source is called again, so a source
may return one buffer (a ``bytearray``) patched in place for every frame."""
SleepUntil = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

FRAME_INTERVAL = 0.020
# wake-ups can come a little early (libuv timers have millisecond resolution); a tick due that soon is
# served now rather than spinning until its exact deadline
EARLY_TOLERANCE = 0.0005


class JitterStats:
    """Histogram of send lateness (seconds) in fixed buckets: bounded memory however long it runs."""

    def __init__(self, bucket: float = 0.0001, limit: float = 0.1) -> None:
        """Buckets of ``bucket`` seconds up to ``limit``; larger values land in one overflow bucket."""
        if bucket <= 0 or limit <= bucket:
            raise ValueError("need 0 < bucket < limit")
        self.bucket = bucket
        self._counts = [0] * (int(math.ceil(limit / bucket)) + 1)
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def record(self, lateness: float, weight: int = 1) -> None:
        """Count ``weight`` sends that were ``lateness`` seconds off schedule (early counts as off too)."""
        if weight <= 0:
            return
        value = abs(lateness)
        index = min(int(value / self.bucket), len(self._counts) - 1)
        self._counts[index] += weight
        self.count += weight
        self.total += value * weight
        if value > self.max:
            self.max = value

    @property
    def mean(self) -> float:
        """Mean lateness in seconds (0 before anything was recorded)."""
        return self.total / self.count if self.count else 0.0

    def percentile(self, q: float) -> float:
        """Upper edge of the bucket holding the ``q``-th percentile (0-100), in seconds; capped by max."""
        if not 0 <= q <= 100:
            raise ValueError("percentile must be within 0..100")
        if not self.count:
            return 0.0
        rank = max(1, math.ceil(self.count * q / 100))
        seen = 0
        for index, n in enumerate(self._counts):
            seen += n
            if seen >= rank:
                if index == len(self._counts) - 1:
                    return self.max  # the overflow bucket has no upper edge
                return min((index + 1) * self.bucket, self.max)
        return self.max

    def reset(self) -> None:
        """Forget everything recorded (e.g. after a benchmark's warm-up)."""
        self._counts = [0] * len(self._counts)
        self.count = 0
        self.total = 0.0
        self.max = 0.0


class PacedStream:
    """One registered outbound stream; ``addr`` may be changed at any time (symmetric RTP latching)."""

    __slots__ = ("_pacer", "addr", "closed", "errors", "frames_sent", "frames_skipped", "last_frame",
                 "send", "slot", "source")

    def __init__(self, pacer: Pacer, source: FrameSource, addr: Address, send: SendDatagram, slot: int,
                 first_frame: int) -> None:
        self._pacer = pacer
        self.source = source
        self.addr = addr
        self.send = send
        self.slot = slot
        self.last_frame = first_frame - 1
        self.frames_sent = 0
        self.frames_skipped = 0
        self.errors = 0
        self.closed = False

    def close(self) -> None:
        """Stop pacing this stream (idempotent); safe to call from inside its own source."""
        if not self.closed:
            self.closed = True
            self._pacer.remove(self)


class FrameQueue:
    """A bounded queue of ready datagrams as a pacer source (frames produced by a relay or a mixer).

    When the producer runs ahead the oldest frames are dropped (latency stays bounded); when the pacer
    skipped periods, as many queued frames are dropped so the queue stays in time.
    """

    def __init__(self, capacity: int = 10) -> None:
        """Hold at most ``capacity`` datagrams."""
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self._frames: deque[bytes] = deque(maxlen=capacity)
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._frames)

    def put(self, datagram: bytes) -> None:
        """Queue one datagram for the next free period."""
        if len(self._frames) == self._frames.maxlen:
            self.dropped += 1
        self._frames.append(datagram)

    def __call__(self, skipped: int) -> bytes | None:
        for _ in range(min(skipped, len(self._frames))):
            self._frames.popleft()
            self.dropped += 1
        return self._frames.popleft() if self._frames else None


@dataclass(frozen=True, slots=True)
class PacerStats:
    """Counters of a pacer since it was created."""

    streams: int
    ticks: int
    late_wakeups: int
    frames_sent: int
    frames_skipped: int
    source_errors: int
    send_errors: int


class Pacer:
    """The shared ticker: register streams with :meth:`add`, run :meth:`run` once per process."""

    def __init__(self, clock: Clock, sleep_until: SleepUntil, send: SendDatagram, *,
                 interval: float = FRAME_INTERVAL, slots: int = 5, max_burst: int = 3) -> None:
        """``clock`` gives seconds; ``sleep_until(t)`` returns once ``clock() >= t`` (about).

        ``send`` is the default way out for streams registered without their own. ``slots`` sub-ticks
        per ``interval`` spread the streams; ``max_burst`` bounds the frames one stream sends at once
        when catching up after a late wake-up (1 means missed frames are skipped).
        """
        if interval <= 0 or slots < 1 or max_burst < 1:
            raise ValueError("interval, slots and max_burst must be positive")
        self._clock = clock
        self._sleep_until = sleep_until
        self._send = send
        self.interval = interval
        self.slots = slots
        self.tick_period = interval / slots
        self.max_burst = max_burst
        self._slot_streams: list[dict[int, PacedStream]] = [{} for _ in range(slots)]
        self._start: float | None = None
        self._next_tick = 0
        self._stopped = False
        self._wakeup: asyncio.Event | None = None
        self.send_jitter = JitterStats()
        self.wakeup_lateness = JitterStats()
        self._ticks = 0
        self._late_wakeups = 0
        self._frames_sent = 0
        self._frames_skipped = 0
        self._source_errors = 0
        self._send_errors = 0

    # -- streams ---------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return sum(len(streams) for streams in self._slot_streams)

    def add(self, source: FrameSource, addr: Address, send: SendDatagram | None = None) -> PacedStream:
        """Pace ``source`` to ``addr`` from the next tick of the least busy slot.

        ``send`` overrides the pacer's default (a leg sends from its own RTP socket).
        """
        if self._start is None:
            self._start = self._clock()
            self._next_tick = 0
        elif not len(self):
            # nobody waits on the schedule while idle: jump it forward rather than "catch up" the idle time
            current = math.floor((self._clock() - self._start) / self.tick_period)
            self._next_tick = max(self._next_tick, current)
        slot = min(range(self.slots), key=lambda s: len(self._slot_streams[s]))
        # the first frame whose tick in this slot is still ahead of the schedule
        first_frame = -(-(self._next_tick - slot) // self.slots)
        stream = PacedStream(self, source, addr, send or self._send, slot, first_frame)
        self._slot_streams[slot][id(stream)] = stream
        if self._wakeup is not None:
            self._wakeup.set()
        return stream

    def remove(self, stream: PacedStream) -> None:
        """Stop pacing ``stream`` (same as ``stream.close()``)."""
        stream.closed = True
        self._slot_streams[stream.slot].pop(id(stream), None)

    # -- the schedule ----------------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When the next tick is due, or None while no stream was ever added."""
        if self._start is None:
            return None
        return self._start + self._next_tick * self.tick_period

    def run_due(self, now: float) -> int:
        """Serve every tick due at ``now`` (the whole catch-up policy); returns datagrams sent."""
        if self._start is None:
            return 0
        due = math.floor((now + EARLY_TOLERANCE - self._start) / self.tick_period)
        if due < self._next_tick:
            return 0
        self.wakeup_lateness.record(now - (self._start + self._next_tick * self.tick_period))
        missed = due - self._next_tick + 1
        if missed > 1:
            self._late_wakeups += 1
        # every stream sends at most max_burst frames: ticks older than that window are skipped (the
        # streams notice the gap through their frame number and are told how many they missed)
        window = self.max_burst * self.slots
        if missed > window:
            self._next_tick = due - window + 1
        sent = 0
        while self._next_tick <= due:
            sent += self._serve(self._next_tick, now)
            self._next_tick += 1
        return sent

    def _serve(self, tick: int, now: float) -> int:
        self._ticks += 1
        slot_streams = self._slot_streams[tick % self.slots]
        if not slot_streams:
            return 0
        frame = tick // self.slots
        deadline = self._start + tick * self.tick_period if self._start is not None else now
        sent = 0
        for stream in tuple(slot_streams.values()):
            if stream.closed:
                continue
            skipped = frame - stream.last_frame - 1
            if skipped < 0:
                continue  # added after this tick's schedule point; starts at its own first frame
            stream.last_frame = frame
            if skipped:
                stream.frames_skipped += skipped
                self._frames_skipped += skipped
            try:
                datagram = stream.source(skipped)
            except Exception:
                # one broken leg must not stop the audio of every other call
                _log.exception("media source failed; stream removed")
                self._source_errors += 1
                stream.close()
                continue
            if datagram is None:
                continue
            try:
                stream.send(datagram, stream.addr)
            except OSError:
                stream.errors += 1
                self._send_errors += 1
                continue
            stream.frames_sent += 1
            sent += 1
        self._frames_sent += sent
        # lateness measured once the slot's sends are done: an upper bound for each of them
        self.send_jitter.record(self._clock() - deadline, sent)
        return sent

    # -- the loop --------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Tick until :meth:`stop`; idles (no wake-ups) while no stream is registered."""
        self._stopped = False
        self._wakeup = asyncio.Event()
        try:
            while not self._stopped:
                if not len(self):
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                deadline = self.next_deadline()
                assert deadline is not None  # a stream was added, so the schedule exists
                await self._sleep_until(deadline)
                self.run_due(self._clock())
        finally:
            self._wakeup = None

    def stop(self) -> None:
        """Make :meth:`run` return after its current wait."""
        self._stopped = True
        if self._wakeup is not None:
            self._wakeup.set()

    @property
    def stats(self) -> PacerStats:
        """Counters since creation."""
        return PacerStats(len(self), self._ticks, self._late_wakeups, self._frames_sent, self._frames_skipped,
                          self._source_errors, self._send_errors)


def loop_sleep_until(clock: Clock, loop: asyncio.AbstractEventLoop | None = None) -> SleepUntil:
    """A ``sleep_until`` for :class:`Pacer` on an asyncio (or uvloop) loop, deadlines in ``clock`` time.

    The delay is taken against ``clock`` so the pacer may use a finer clock than ``loop.time()``.
    """

    async def sleep_until(deadline: float) -> None:
        delay = deadline - clock()
        if delay <= 0:
            await asyncio.sleep(0)  # still yield, so a pacer that is behind cannot starve the loop
            return
        running = loop or asyncio.get_running_loop()
        future: asyncio.Future[None] = running.create_future()
        handle = running.call_later(delay, _wake, future)
        try:
            await future
        finally:
            handle.cancel()

    return sleep_until


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
