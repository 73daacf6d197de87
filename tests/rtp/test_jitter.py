"""Jitter buffer: fill to depth, reorder, gaps for loss, late and duplicate drops, bounds."""

from __future__ import annotations

import random

import pytest

from waterline.rtp.jitter import JitterBuffer


def drain(buffer: JitterBuffer[str], ticks: int) -> list[str | None]:
    return [buffer.pop() for _ in range(ticks)]


def test_fills_to_depth_then_plays_in_order() -> None:
    buffer: JitterBuffer[str] = JitterBuffer(depth=3)
    buffer.put(10, "a")
    assert buffer.pop() is None and not buffer.playing
    buffer.put(11, "b")
    assert buffer.pop() is None
    buffer.put(12, "c")
    assert buffer.pop() == "a" and buffer.playing
    assert drain(buffer, 2) == ["b", "c"]


def test_reorders_within_the_depth() -> None:
    buffer: JitterBuffer[str] = JitterBuffer(depth=3)
    for seq, frame in [(2, "c"), (0, "a"), (1, "b"), (4, "e"), (3, "d")]:
        assert buffer.put(seq, frame)
    assert drain(buffer, 5) == ["a", "b", "c", "d", "e"]


def test_lost_frame_is_a_gap_and_keeps_the_timeline() -> None:
    buffer: JitterBuffer[str] = JitterBuffer(depth=2)
    for seq in (0, 1, 3, 4):
        buffer.put(seq, str(seq))
    assert drain(buffer, 4) == ["0", "1", None, "3"]
    assert buffer.lost == 1


def test_late_and_duplicate_frames_are_dropped() -> None:
    buffer: JitterBuffer[str] = JitterBuffer(depth=2)
    buffer.put(0, "0")
    assert not buffer.put(0, "again")
    buffer.put(1, "1")
    buffer.put(3, "3")
    assert drain(buffer, 3) == ["0", "1", None]
    assert not buffer.put(2, "2")  # its tick went by as a gap
    assert not buffer.put(1, "1")
    assert (buffer.late, buffer.duplicates) == (2, 1)
    assert buffer.pop() == "3"


def test_runs_dry_then_refills_and_skips_what_already_went_by() -> None:
    buffer: JitterBuffer[str] = JitterBuffer(depth=2)
    buffer.put(0, "0")
    buffer.put(1, "1")
    assert drain(buffer, 4) == ["0", "1", None, None]
    assert buffer.underruns == 1 and not buffer.playing
    # frames 2 and 3 never come; 4 and 5 arrive after the silence
    buffer.put(4, "4")
    assert buffer.pop() is None
    buffer.put(5, "5")
    assert drain(buffer, 2) == ["4", "5"]
    assert buffer.lost == 2


def test_late_frames_after_running_dry_are_still_played() -> None:
    buffer: JitterBuffer[str] = JitterBuffer(depth=2)
    buffer.put(0, "0")
    buffer.put(1, "1")
    assert drain(buffer, 3) == ["0", "1", None]
    buffer.put(3, "3")
    buffer.put(2, "2")  # delayed, not lost: the buffer waited for it
    assert drain(buffer, 2) == ["2", "3"]
    assert buffer.lost == 0


def test_capacity_bounds_the_buffer_and_keeps_the_newest() -> None:
    buffer: JitterBuffer[str] = JitterBuffer(depth=2, capacity=4)
    for seq in range(6):
        buffer.put(seq, str(seq))
    assert len(buffer) == 4
    assert buffer.overflowed == 2
    assert not buffer.put(0, "0")
    assert drain(buffer, 4) == ["2", "3", "4", "5"]


def test_a_huge_forward_jump_is_not_played_as_minutes_of_gaps() -> None:
    buffer: JitterBuffer[str] = JitterBuffer(depth=2, capacity=10)
    buffer.put(0, "0")
    buffer.put(1, "1")
    assert drain(buffer, 2) == ["0", "1"]
    buffer.put(5000, "x")
    buffer.put(5001, "y")
    assert drain(buffer, 3) == [None, "x", "y"]


def test_flush_returns_the_tail_in_order_and_reset_forgets_numbering() -> None:
    buffer: JitterBuffer[str] = JitterBuffer(depth=5)
    for seq in (7, 5, 6):
        buffer.put(seq, str(seq))
    assert buffer.flush() == ["5", "6", "7"]
    assert len(buffer) == 0
    assert not buffer.put(6, "6")  # after flushing, older numbers are late
    buffer.reset()
    assert buffer.put(1, "1")


def test_bad_parameters() -> None:
    with pytest.raises(ValueError):
        JitterBuffer(depth=0)
    with pytest.raises(ValueError):
        JitterBuffer(depth=5, capacity=4)


def test_random_reordering_within_depth_loses_nothing() -> None:
    rng = random.Random(11)
    buffer: JitterBuffer[int] = JitterBuffer(depth=4, capacity=20)
    order = list(range(400))
    # swap neighbours so no frame arrives more than one slot late
    for i in range(0, 398, 2):
        if rng.random() < 0.5:
            order[i], order[i + 1] = order[i + 1], order[i]
    played: list[int | None] = []
    for seq in order:
        buffer.put(seq, seq)
        played.append(buffer.pop())
    played.extend(buffer.flush())
    assert [p for p in played if p is not None] == list(range(400))
    assert buffer.lost == 0 and buffer.late == 0
