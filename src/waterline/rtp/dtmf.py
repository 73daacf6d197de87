"""RFC 4733 telephone-events: the DTMF payload, a receiver that reports each key once, and a sender.

Payload (4 octets)::

    |     event     |E|R| volume    |          duration             |

All packets of one tone carry the timestamp of its start; ``duration`` grows with each update and
the last packet (E bit) is sent three times. The receiver therefore keys tones by timestamp: the
first packet of a new timestamp starts a digit (even when the marker packet was lost), the first
end packet ends it, repeated end packets and late updates of a finished tone are ignored, and a
tone whose end never arrives is ended by :meth:`DtmfReceiver.handle_timer` after ``timeout``.
"""

from __future__ import annotations

import math
import struct
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from waterline.rtp.packet import Payload, RtpError, RtpPacket
from waterline.rtp.stream import SendStream

__all__ = [
    "DIGITS",
    "DigitEnded",
    "DigitStarted",
    "DtmfEvent",
    "DtmfReceiver",
    "TelephoneEvent",
    "parse_event",
    "send_digit",
]

# RFC 4733 §3.2: event codes 0-15 are the sixteen DTMF keys
DIGITS = "0123456789*#ABCD"
_PAYLOAD = struct.Struct("!BBH")
_END_REPEATS = 3
# finished tones remembered so their redundant end packets and stragglers are ignored
_REMEMBERED = 16


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """One telephone-event payload; ``volume`` is the power in -dBm0 (0-63), ``duration`` in samples."""

    event: int
    end: bool = False
    volume: int = 10
    duration: int = 0

    def serialise(self) -> bytes:
        """The four payload octets (R bit zero); raises :class:`RtpError` when a field is out of range."""
        if not 0 <= self.event <= 255 or not 0 <= self.volume <= 63 or not 0 <= self.duration <= 0xFFFF:
            raise RtpError(f"telephone-event field out of range: {self}")
        return _PAYLOAD.pack(self.event, (0x80 if self.end else 0) | self.volume, self.duration)

    @property
    def digit(self) -> str | None:
        """The DTMF key of the event, or None for other events (flash, tones)."""
        return DIGITS[self.event] if self.event < len(DIGITS) else None


def parse_event(payload: Payload) -> TelephoneEvent:
    """Parse the first event of a telephone-event payload; :class:`RtpError` when shorter than 4 octets."""
    if len(payload) < 4:
        raise RtpError(f"telephone-event payload too short: {len(payload)} octets")
    event, flags, duration = _PAYLOAD.unpack_from(payload)
    return TelephoneEvent(event, bool(flags & 0x80), flags & 0x3F, duration)


@dataclass(frozen=True, slots=True)
class DigitStarted:
    """A key went down (first packet of its tone), reported once; ``at`` is the arrival time."""

    digit: str
    timestamp: int
    at: float


@dataclass(frozen=True, slots=True)
class DigitEnded:
    """A key was released, reported once. ``end_seen`` is False when the end packets were lost and the
    tone was ended by the timeout or by the next tone; ``duration`` is then the last one reported."""

    digit: str
    timestamp: int
    at: float
    duration: float
    volume: int
    end_seen: bool


DtmfEvent = DigitStarted | DigitEnded


class DtmfReceiver:
    """Turn a leg's telephone-event packets into :class:`DigitStarted` / :class:`DigitEnded` events."""

    def __init__(self, clock_rate: int = 8000, timeout: float = 0.3) -> None:
        """``timeout``: seconds without any packet of a running tone before it is ended anyway."""
        self.clock_rate = clock_rate
        self.timeout = timeout
        self._current: tuple[int, str] | None = None  # (timestamp, digit) of the running tone
        self._last_packet_at = 0.0
        self._last_event = TelephoneEvent(0)
        self._finished: deque[int] = deque(maxlen=_REMEMBERED)

    @property
    def active(self) -> str | None:
        """The digit whose tone is running, if any."""
        return None if self._current is None else self._current[1]

    def receive(self, packet: RtpPacket, now: float) -> list[DtmfEvent]:
        """Feed one telephone-event packet; returns the digits started and ended by it (often none).

        Raises :class:`RtpError` for a payload shorter than 4 octets. Events other than the 16 DTMF
        keys are ignored.
        """
        event = parse_event(packet.payload)
        digit = event.digit
        timestamp = packet.timestamp
        if digit is None or timestamp in self._finished:
            return []
        out: list[DtmfEvent] = []
        current = self._current
        if current is not None and (current[0] != timestamp or current[1] != digit):
            out.append(self._end(now, end_seen=False))
            current = None
        if current is None:
            self._current = (timestamp, digit)
            out.append(DigitStarted(digit, timestamp, now))
        self._last_packet_at = now
        self._last_event = event
        if event.end:
            out.append(self._end(now, end_seen=True))
        return out

    def _end(self, now: float, *, end_seen: bool) -> DigitEnded:
        assert self._current is not None
        timestamp, digit = self._current
        self._current = None
        self._finished.append(timestamp)
        last = self._last_event
        return DigitEnded(digit, timestamp, now, last.duration / self.clock_rate, last.volume, end_seen)

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` should run next, or None when no tone is running."""
        return None if self._current is None else self._last_packet_at + self.timeout

    def handle_timer(self, now: float) -> list[DtmfEvent]:
        """End a tone that has been silent for ``timeout`` seconds (its end packets were lost)."""
        timer = self.get_timer()
        if timer is None or now < timer:
            return []
        return [self._end(now, end_seen=False)]

    def reset(self) -> None:
        """Forget everything (the remote source changed); a running tone is dropped unreported."""
        self._current = None
        self._finished.clear()


def send_digit(stream: SendStream, digit: str, *, duration: float = 0.1, volume: int = 10,
               payload_type: int = 101, ptime: float = 0.020, clock_rate: int = 8000) -> Iterator[RtpPacket]:
    """Yield the telephone-event packets of one key press, one per ``ptime`` tick.

    The first packet carries the marker, updates follow every tick with a growing duration, and the
    final duration is sent three times with the E bit. All share the timestamp the stream's media
    clock had at the start; the stream's clock advances one frame per tick, so audio resumes in time
    (with the marker, as a new talkspurt). Raises ``ValueError`` for an unknown digit or a tone longer
    than one event can describe (65535 samples).
    """
    key = digit.upper()
    if len(key) != 1 or key not in DIGITS:
        raise ValueError(f"not a DTMF digit: {digit!r}")
    event_code = DIGITS.index(key)
    step = round(ptime * clock_rate)
    ticks = max(1, math.ceil(round(duration * clock_rate) / step))
    if ticks * step > 0xFFFF:
        raise ValueError(f"tone too long for one telephone-event: {duration} s")
    start = stream.timestamp
    for tick in range(ticks):
        payload = TelephoneEvent(event_code, False, volume, (tick + 1) * step).serialise()
        packet = stream.event(payload, payload_type, start, marker=tick == 0)
        stream.pause(step)
        yield packet
    final = TelephoneEvent(event_code, True, volume, ticks * step).serialise()
    for _ in range(_END_REPEATS):
        packet = stream.event(final, payload_type, start, marker=False)
        stream.pause(step)
        yield packet
