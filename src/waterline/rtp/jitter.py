"""A small fixed-depth jitter buffer for recording and relaying one leg's frames.

Frames go in keyed by extended sequence number (from :class:`waterline.rtp.stream.ReceiveStream`)
as they arrive; the media clock takes one out per packet interval with :meth:`JitterBuffer.pop`.
The buffer first fills to ``depth`` frames, then plays in sequence order: a missing frame whose
successors have arrived is a loss and comes out as ``None`` (the recorder writes silence there, so
the recording keeps its length), a frame arriving after its turn is dropped as late, duplicates are
dropped, and at most ``capacity`` frames are held. When the buffer runs dry (the remote stopped
sending, or a burst was lost) ``pop`` returns ``None`` for each tick and the buffer fills to
``depth`` again before playing on, skipping the sequence numbers whose ticks already went by.
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["JitterBuffer"]

T = TypeVar("T")


class JitterBuffer(Generic[T]):
    """Reorders frames by extended sequence number and releases one per tick after ``depth`` frames.

    Frames are opaque to the buffer (payload bytes, packets ...), but must not be None.
    """

    def __init__(self, depth: int = 3, capacity: int = 50) -> None:
        """``depth``: frames held before play starts (latency); ``capacity``: most frames held at once."""
        if depth < 1 or capacity < depth:
            raise ValueError("need 1 <= depth <= capacity")
        self.depth = depth
        self.capacity = capacity
        self._frames: dict[int, T] = {}
        self._next: int | None = None  # next sequence number to play; None before the first frame
        self._playing = False
        self.late = 0
        self.duplicates = 0
        self.overflowed = 0
        self.lost = 0
        self.underruns = 0

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def playing(self) -> bool:
        """False while filling up to ``depth`` (at the start and after running dry)."""
        return self._playing

    def put(self, seq: int, frame: T) -> bool:
        """Offer one frame; False when it was dropped as late, duplicate or beyond ``capacity``."""
        if self._next is not None and seq < self._next:
            self.late += 1
            return False
        if seq in self._frames:
            self.duplicates += 1
            return False
        self._frames[seq] = frame
        if len(self._frames) > self.capacity:
            # keep the newest: when we are this far behind, the oldest frames' time has passed
            oldest = min(self._frames)
            del self._frames[oldest]
            self.overflowed += 1
            self._next = min(self._frames)
            if oldest == seq:
                return False
        return True

    def pop(self) -> T | None:
        """The frame for this tick, or None for a gap (filling up, lost frame, or running dry)."""
        frames = self._frames
        if not self._playing:
            if len(frames) < self.depth:
                return None
            self._playing = True
            first = min(frames)
            if self._next is not None and first > self._next:
                # their ticks went by while we were filling (they were given as gaps); do not replay them
                self.lost += first - self._next
            self._next = first
        seq = self._next
        assert seq is not None
        if seq in frames:
            self._next = seq + 1
            return frames.pop(seq)
        if not frames:
            self._playing = False
            self.underruns += 1
            return None
        first = min(frames)
        if first - seq > self.capacity:
            # a jump this far is a discontinuity, not loss: one gap, then carry on from the new frames
            self.lost += first - seq
            self._next = first
            return None
        self.lost += 1
        self._next = seq + 1
        return None

    def flush(self) -> list[T]:
        """Everything still held, in sequence order (the tail of a recording at hang-up); then empty."""
        ordered = [self._frames[seq] for seq in sorted(self._frames)]
        if self._frames:
            self._next = max(self._frames) + 1
        self._frames.clear()
        self._playing = False
        return ordered

    def reset(self) -> None:
        """Drop everything and forget the numbering (the source restarted); counters are kept."""
        self._frames.clear()
        self._next = None
        self._playing = False
