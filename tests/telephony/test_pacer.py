"""The shared pacer driven by a fake clock: schedule, slots, catch-up policy, errors, metrics."""

from __future__ import annotations

import asyncio
import time

import pytest

from waterline.telephony.pacer import Address, FrameQueue, JitterStats, Pacer, loop_sleep_until


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Wire:
    """Records every datagram with the fake time it was sent."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, bytes, Address]] = []

    def __call__(self, datagram: bytes, addr: Address) -> None:
        self.sent.append((self.clock.now, datagram, addr))

    def times(self, datagram: bytes) -> list[float]:
        return [t for t, d, _ in self.sent if d == datagram]


class Counter:
    """A source that sends its name and remembers the skipped counts it was given."""

    def __init__(self, name: bytes) -> None:
        self.name = name
        self.skips: list[int] = []

    def __call__(self, skipped: int) -> bytes | None:
        self.skips.append(skipped)
        return self.name


async def _never(deadline: float) -> None:
    raise AssertionError("the tests drive run_due directly")


def _pacer(clock: FakeClock, wire: Wire, **kwargs: int) -> Pacer:
    return Pacer(clock, _never, wire, **kwargs)


def _drive(pacer: Pacer, clock: FakeClock, until: float, late: float = 0.0) -> None:
    """Wake the pacer at every deadline (plus ``late``) until ``until``, like the run loop would."""
    for _ in range(100_000):
        deadline = pacer.next_deadline()
        assert deadline is not None
        if deadline > until:
            return
        clock.now = max(clock.now, deadline + late)
        pacer.run_due(clock.now)
    raise AssertionError("bounded loop ran out")


def test_each_stream_sends_one_frame_per_interval_on_its_slot() -> None:
    clock, wire = FakeClock(), Wire(FakeClock())
    wire.clock = clock
    pacer = _pacer(clock, wire, slots=4)
    streams = [pacer.add(Counter(bytes([i])), ("127.0.0.1", 4000 + i)) for i in range(4)]
    assert sorted(s.slot for s in streams) == [0, 1, 2, 3]
    _drive(pacer, clock, until=100.0 + 0.999)
    for i, stream in enumerate(streams):
        times = wire.times(bytes([i]))
        assert len(times) == 50
        offset = stream.slot * 0.005
        assert times == pytest.approx([100.0 + offset + n * 0.020 for n in range(50)])
        assert {addr for _, d, addr in wire.sent if d == bytes([i])} == {("127.0.0.1", 4000 + i)}
    assert pacer.stats.frames_sent == 200


def test_streams_are_spread_evenly_over_the_slots() -> None:
    clock = FakeClock()
    pacer = _pacer(clock, Wire(clock), slots=20)
    streams = [pacer.add(Counter(b"x"), ("127.0.0.1", 5000)) for _ in range(45)]
    per_slot = [sum(1 for s in streams if s.slot == slot) for slot in range(20)]
    assert max(per_slot) - min(per_slot) <= 1


def test_constant_wakeup_lateness_does_not_accumulate() -> None:
    clock = FakeClock()
    wire = Wire(clock)
    pacer = _pacer(clock, wire, slots=1)
    pacer.add(Counter(b"a"), ("127.0.0.1", 4000))
    _drive(pacer, clock, until=100.0 + 20.0, late=0.0003)
    times = wire.times(b"a")
    assert len(times) == 1001
    # frame n leaves at start + n * 20 ms + the wake-up lateness, never more: no drift after 1000 frames
    assert times[-1] == pytest.approx(100.0 + 1000 * 0.020 + 0.0003)
    assert pacer.send_jitter.max == pytest.approx(0.0003)
    assert pacer.stats.late_wakeups == 0


def test_late_wakeup_bursts_missed_frames_up_to_max_burst() -> None:
    clock = FakeClock()
    wire = Wire(clock)
    pacer = _pacer(clock, wire, slots=1, max_burst=3)
    source = Counter(b"a")
    pacer.add(source, ("127.0.0.1", 4000))
    pacer.run_due(clock.now)  # frame 0 on time
    clock.now += 0.045  # frames 1 and 2 are due
    assert pacer.run_due(clock.now) == 2
    assert source.skips == [0, 0, 0]
    clock.now += 0.150  # now at 195 ms: frames 3..9 are due, only the newest 3 go out
    assert pacer.run_due(clock.now) == 3
    assert source.skips == [0, 0, 0, 4, 0, 0]
    assert pacer.stats.frames_skipped == 4
    assert pacer.stats.late_wakeups == 2
    # back on the absolute schedule: the next frame is frame 10 at 200 ms
    assert pacer.next_deadline() == pytest.approx(100.200)


def test_skip_policy_sends_one_frame_and_reports_the_gap() -> None:
    clock = FakeClock()
    wire = Wire(clock)
    pacer = _pacer(clock, wire, slots=2, max_burst=1)
    a, b = Counter(b"a"), Counter(b"b")
    pacer.add(a, ("127.0.0.1", 4000))
    pacer.add(b, ("127.0.0.1", 4002))
    _drive(pacer, clock, until=100.015)
    clock.now = 100.101  # a is due at 20..100 ms, b at 30..90 ms
    pacer.run_due(clock.now)
    assert a.skips == [0, 4]
    assert b.skips == [0, 3]
    assert len(wire.sent) == 4


def test_stream_added_late_starts_at_its_next_slot_tick() -> None:
    clock = FakeClock()
    wire = Wire(clock)
    pacer = _pacer(clock, wire, slots=4)
    pacer.add(Counter(b"a"), ("127.0.0.1", 4000))
    _drive(pacer, clock, until=100.012)
    late = pacer.add(Counter(b"b"), ("127.0.0.1", 4002))
    assert late.slot == 1  # the first of the empty slots
    _drive(pacer, clock, until=100.060)
    times = wire.times(b"b")
    # slot 1's tick at 5 ms went by before it was added; its next one is at 25 ms
    assert times == pytest.approx([100.025, 100.045])


def test_idle_pacer_restarts_schedule_instead_of_catching_up() -> None:
    clock = FakeClock()
    wire = Wire(clock)
    pacer = _pacer(clock, wire, slots=1)
    first = pacer.add(Counter(b"a"), ("127.0.0.1", 4000))
    pacer.run_due(clock.now)
    first.close()
    clock.now += 60.0
    source = Counter(b"b")
    pacer.add(source, ("127.0.0.1", 4000))
    _drive(pacer, clock, until=clock.now + 0.050)
    assert source.skips == [0, 0, 0]
    assert pacer.stats.frames_skipped == 0


def test_failing_source_is_removed_and_others_keep_playing() -> None:
    clock = FakeClock()
    wire = Wire(clock)
    pacer = _pacer(clock, wire, slots=1)

    def broken(skipped: int) -> bytes | None:
        raise RuntimeError("boom")

    bad = pacer.add(broken, ("127.0.0.1", 4000))
    pacer.add(Counter(b"ok"), ("127.0.0.1", 4002))
    _drive(pacer, clock, until=100.1)
    assert bad.closed
    assert len(pacer) == 1
    assert len(wire.times(b"ok")) == 6
    assert pacer.stats.source_errors == 1


def test_send_errors_are_counted_not_raised() -> None:
    clock = FakeClock()
    pacer = _pacer(clock, Wire(clock), slots=1)

    def unreachable(datagram: bytes, addr: Address) -> None:
        raise OSError("ENETUNREACH")

    stream = pacer.add(Counter(b"a"), ("127.0.0.1", 4000), send=unreachable)
    _drive(pacer, clock, until=100.05)
    assert stream.errors == 3
    assert pacer.stats.send_errors == 3
    assert stream.frames_sent == 0


def test_source_may_close_itself_and_address_may_change() -> None:
    clock = FakeClock()
    wire = Wire(clock)
    pacer = _pacer(clock, wire, slots=1)
    frames = iter([b"1", b"2", b"3"])

    def player(skipped: int) -> bytes | None:
        frame = next(frames, None)
        if frame is None:
            stream.close()
        return frame

    stream = pacer.add(player, ("127.0.0.1", 4000))
    pacer.run_due(clock.now)
    stream.addr = ("127.0.0.1", 4444)  # latched to where the peer's packets really come from
    _drive(pacer, clock, until=100.2)
    assert [(d, a[1]) for _, d, a in wire.sent] == [(b"1", 4000), (b"2", 4444), (b"3", 4444)]
    assert len(pacer) == 0


def test_frame_queue_is_bounded_and_drops_skipped_frames() -> None:
    queue = FrameQueue(capacity=3)
    for i in range(5):
        queue.put(bytes([i]))
    assert len(queue) == 3 and queue.dropped == 2
    assert queue(0) == b"\x02"
    assert queue(1) == b"\x04"
    assert queue(0) is None
    with pytest.raises(ValueError):
        FrameQueue(0)


def test_jitter_stats_percentiles() -> None:
    stats = JitterStats(bucket=0.001, limit=0.2)
    for ms in range(100):
        stats.record((ms + 0.5) / 1000)  # one value in the middle of each 1 ms bucket, 0.5 .. 99.5 ms
    stats.record(-0.0005)  # early counts as off schedule too
    assert stats.count == 101
    assert stats.percentile(50) == pytest.approx(0.050)
    assert stats.percentile(99) == pytest.approx(0.099)
    assert stats.percentile(100) == pytest.approx(0.0995)  # capped by the true maximum
    assert stats.mean == pytest.approx((sum(ms + 0.5 for ms in range(100)) + 0.5) / 101 / 1000)
    stats.record(1.0, weight=3)  # beyond the limit: overflow bucket, still the true max
    assert stats.percentile(100) == pytest.approx(1.0) and stats.count == 104
    stats.reset()
    assert stats.count == 0 and stats.percentile(99) == 0.0


def test_run_loop_with_fake_sleep_stops_and_idles() -> None:
    clock = FakeClock()
    wire = Wire(clock)
    wakeups: list[float] = []

    async def sleep_until(deadline: float) -> None:
        wakeups.append(deadline)
        clock.now = deadline
        if len(wakeups) >= 10:
            pacer.stop()
        await asyncio.sleep(0)

    pacer = Pacer(clock, sleep_until, wire, slots=2)

    async def main() -> None:
        task = asyncio.create_task(pacer.run())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert wakeups == []  # idle: no stream, no ticking
        pacer.add(Counter(b"a"), ("127.0.0.1", 4000))
        await asyncio.wait_for(task, 5)

    asyncio.run(main())
    assert len(wakeups) == 10
    assert wakeups == pytest.approx([100.0 + n * 0.010 for n in range(10)])
    assert len(wire.times(b"a")) == 5


def test_loop_sleep_until_returns_after_the_deadline() -> None:
    async def main() -> tuple[float, float]:
        sleep_until = loop_sleep_until(time.monotonic)
        deadline = time.monotonic() + 0.002
        await sleep_until(deadline)
        await sleep_until(deadline - 1.0)  # already past: returns at once
        return deadline, time.monotonic()

    deadline, woke = asyncio.run(main())
    # asyncio may fire a timer up to its clock resolution early
    assert woke >= deadline - 0.0015


def test_invalid_configuration_is_rejected() -> None:
    clock = FakeClock()
    with pytest.raises(ValueError):
        Pacer(clock, _never, Wire(clock), slots=0)
    with pytest.raises(ValueError):
        Pacer(clock, _never, Wire(clock), max_burst=0)
    with pytest.raises(ValueError):
        JitterStats(bucket=0)
