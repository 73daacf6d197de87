"""Per-leg RTP bookkeeping: what a receiver tracks about its source, and a sender's seq/timestamp.

:class:`ReceiveStream` follows RFC 3550 Appendix A.1 (sequence validation with probation, 16-bit
wrap into an extended sequence number, resync after a large jump), A.3 (expected and lost packets,
per-interval fraction lost) and A.8 (interarrival jitter, given the arrival time ``now`` in seconds
and the clock rate). One object follows the leg's *current* source: when packets arrive with a new
SSRC (a re-INVITE to another media server, a transfer) the state starts over for the new source;
late packets of the old source within :data:`STRAGGLER_WINDOW` seconds are ignored rather than
taken as a switch back.

:class:`SendStream` numbers outgoing packets: a random SSRC, initial sequence number and timestamp
from an injected ``random.Random`` (RFC 3550 §5.1), the timestamp advanced by the samples of each
frame, and the marker bit on the first packet of each talkspurt.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass

from waterline.rtp.packet import HEADER_SIZE, Payload, RtpPacket

__all__ = ["Arrival", "IntervalLoss", "ReceiveStream", "SendStream"]

_SEQ_MOD = 1 << 16
MAX_DROPOUT = 3000
MAX_MISORDER = 100
# after an SSRC change, packets of the old source arriving this soon are stragglers, not a switch back
STRAGGLER_WINDOW = 0.5
# the fixed header as the send path patches it in place: version octet, marker|PT, seq, timestamp, SSRC
_HEADER = struct.Struct("!BBHII")


# Not frozen: one is made for every packet received (frozen dataclasses construct through
# object.__setattr__, about three times slower). Treat instances as values anyway.
@dataclass(slots=True)
class Arrival:
    """What :meth:`ReceiveStream.receive` concluded about one packet.

    ``valid`` is False while a new source is on probation or for a packet far outside the expected
    sequence window; such packets should not be played. ``extended_seq`` (sequence number plus
    65536 times the wrap count) orders valid packets for a jitter buffer. ``restarted`` tells that the
    extended sequence numbering began again (new source, or resync after a jump), so buffers keyed
    by it must be reset; ``new_source`` marks the first packet seen with a new SSRC.
    """

    valid: bool
    extended_seq: int
    restarted: bool = False
    new_source: bool = False


@dataclass(frozen=True, slots=True)
class IntervalLoss:
    """Loss since the previous report (RFC 3550 A.3): ``fraction`` is lost/expected in 1/256 units."""

    expected: int
    lost: int
    fraction: int


class ReceiveStream:
    """Receive statistics of the current RTP source of one leg (RFC 3550 A.1, A.3, A.8)."""

    def __init__(self, clock_rate: int = 8000, *, min_sequential: int = 2,
                 event_payload_types: frozenset[int] = frozenset()) -> None:
        """``min_sequential`` packets in sequence validate a new source (1 accepts it at once).

        Packets whose payload type is in ``event_payload_types`` (RFC 4733 telephone-events, whose
        timestamps stand still for a whole tone) count for loss but are left out of the jitter.
        """
        if clock_rate <= 0 or min_sequential < 1:
            raise ValueError("clock_rate and min_sequential must be positive")
        self.clock_rate = clock_rate
        self.min_sequential = min_sequential
        self.event_payload_types = event_payload_types
        self.ssrc: int | None = None
        self.ssrc_changes = 0
        self.stragglers = 0
        self._previous_ssrc: int | None = None
        self._switched_at = 0.0
        self._reset_source()
        # last sender report from the source: middle 32 bits of its NTP time and when it arrived
        self.last_sr: int = 0
        self.last_sr_arrival: float | None = None

    def _reset_source(self) -> None:
        self._max_seq = 0
        self._cycles = 0
        self._base_seq = 0
        self._bad_seq = _SEQ_MOD + 1  # not a sequence number: no pending resync
        self._probation = self.min_sequential
        self.received = 0
        self._expected_prior = 0
        self._received_prior = 0
        self._transit: float | None = None
        self._jitter = 0.0
        self.last_sr = 0
        self.last_sr_arrival = None

    # -- A.1 -----------------------------------------------------------------------------------------------

    def receive(self, packet: RtpPacket, now: float) -> Arrival:
        """Account for one packet that arrived at ``now`` (seconds, any monotonic origin)."""
        return self.receive_header(packet.payload_type, packet.sequence, packet.timestamp, packet.ssrc, now)

    def receive_header(self, payload_type: int, seq: int, timestamp: int, ssrc: int, now: float) -> Arrival:
        """:meth:`receive` from the header fields alone (the media edge's fast path builds no packet)."""
        new_source = ssrc != self.ssrc
        if new_source:
            if ssrc == self._previous_ssrc and now - self._switched_at < STRAGGLER_WINDOW:
                # a late packet of the source we just left: switching back would throw away the new
                # source's state (and then switch again on its next packet)
                self.stragglers += 1
                return Arrival(False, seq)
            if self.ssrc is not None:
                self.ssrc_changes += 1
                self._previous_ssrc = self.ssrc
                self._switched_at = now
            self.ssrc = ssrc
            self._reset_source()
            self._max_seq = (seq - 1) % _SEQ_MOD
        if self._probation:
            if seq != (self._max_seq + 1) % _SEQ_MOD:
                # out of order during probation: start counting again from this packet
                self._probation = self.min_sequential - 1
                self._max_seq = seq
                if self._probation == 0:
                    self._init_seq(seq)
                    return self._accept(payload_type, timestamp, now, self._cycles + seq, True, new_source)
                return Arrival(False, seq, new_source, new_source)
            self._probation -= 1
            self._max_seq = seq
            if self._probation == 0:
                self._init_seq(seq)
                return self._accept(payload_type, timestamp, now, self._cycles + seq, True, new_source)
            return Arrival(False, seq, new_source, new_source)
        delta = (seq - self._max_seq) % _SEQ_MOD
        extended_max = self._cycles + self._max_seq
        if delta < MAX_DROPOUT:
            if seq < self._max_seq:
                self._cycles += _SEQ_MOD  # wrapped
            self._max_seq = seq
            return self._accept(payload_type, timestamp, now, extended_max + delta, False, False)
        if delta <= _SEQ_MOD - MAX_MISORDER:
            # a very large jump: believe it only when the next packet continues from it (A.1)
            if seq == self._bad_seq:
                self._init_seq(seq)
                return self._accept(payload_type, timestamp, now, self._cycles + seq, True, False)
            self._bad_seq = (seq + 1) % _SEQ_MOD
            return Arrival(False, seq)
        # duplicate or reordered packet from just before the highest one
        return self._accept(payload_type, timestamp, now, extended_max - (_SEQ_MOD - delta), False, False)

    def _init_seq(self, seq: int) -> None:
        self._base_seq = seq
        self._max_seq = seq
        self._bad_seq = _SEQ_MOD + 1
        self._cycles = 0
        self.received = 0
        self._expected_prior = 0
        self._received_prior = 0
        self._transit = None

    def _accept(self, payload_type: int, timestamp: int, now: float, extended: int, restarted: bool,
                new_source: bool) -> Arrival:
        self.received += 1
        if payload_type not in self.event_payload_types:
            # A.8: transit time in timestamp units; only its changes matter, so the origin of now is free
            transit = now * self.clock_rate - timestamp
            if self._transit is not None:
                d = abs(transit - self._transit)
                # timestamps wrap at 2**32: a transit change of nearly 2**32 is a wrap, not jitter
                if d > 2**31:
                    d = abs(d - 2**32)
                self._jitter += (d - self._jitter) / 16.0
            self._transit = transit
        return Arrival(True, extended, restarted, new_source)

    # -- A.3, A.8 ------------------------------------------------------------------------------------------

    @property
    def valid(self) -> bool:
        """True once the current source has passed probation."""
        return self.ssrc is not None and self._probation == 0

    @property
    def extended_highest_seq(self) -> int:
        """Highest sequence number received, extended with the wrap count (RR "extended highest")."""
        return self._cycles + self._max_seq

    @property
    def expected(self) -> int:
        """Packets expected from the first valid one to the highest so far."""
        if not self.valid:
            return 0
        return self.extended_highest_seq - self._base_seq + 1

    @property
    def lost(self) -> int:
        """Cumulative packets lost; negative when duplicates outnumber losses, as RFC 3550 allows."""
        return self.expected - self.received

    @property
    def jitter(self) -> float:
        """Interarrival jitter estimate in timestamp units (divide by the clock rate for seconds)."""
        return self._jitter

    def take_interval(self) -> IntervalLoss:
        """Loss since the previous call (for one report block); starts the next interval."""
        expected = self.expected
        expected_interval = expected - self._expected_prior
        received_interval = self.received - self._received_prior
        self._expected_prior = expected
        self._received_prior = self.received
        lost_interval = expected_interval - received_interval
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = (lost_interval << 8) // expected_interval
        return IntervalLoss(expected_interval, lost_interval, min(fraction, 255))

    def note_sender_report(self, ntp_timestamp: int, now: float) -> None:
        """Remember the source's last SR (its 64-bit NTP timestamp) arriving at ``now``, for LSR/DLSR."""
        self.last_sr = (ntp_timestamp >> 16) & 0xFFFFFFFF
        self.last_sr_arrival = now


class SendStream:
    """Sequence number, timestamp and SSRC of the packets one leg sends."""

    def __init__(self, rng: random.Random, payload_type: int, *, samples_per_frame: int = 160) -> None:
        """Pick random SSRC, first sequence number and timestamp from ``rng``."""
        self._rng = rng
        self.payload_type = payload_type
        self.samples_per_frame = samples_per_frame
        self.ssrc = 0
        self.sequence = 0
        self.timestamp = 0
        self.packet_count = 0
        self.octet_count = 0
        self._talkspurt = True
        self.change_ssrc()

    def change_ssrc(self) -> None:
        """Become a new source: new SSRC, sequence and timestamp origin, zero counters (RFC 3550 §8.2)."""
        old = self.ssrc
        self.ssrc = self._rng.getrandbits(32)
        while self.ssrc == old:
            self.ssrc = self._rng.getrandbits(32)
        self.sequence = self._rng.getrandbits(16)
        self.timestamp = self._rng.getrandbits(32)
        self.packet_count = 0
        self.octet_count = 0
        self._talkspurt = True

    def _next_sequence(self) -> int:
        seq = self.sequence
        self.sequence = (seq + 1) & 0xFFFF
        return seq

    def _advance(self, samples: int | None) -> None:
        step = self.samples_per_frame if samples is None else samples
        self.timestamp = (self.timestamp + step) & 0xFFFFFFFF

    def frame(self, payload: Payload, *, samples: int | None = None) -> RtpPacket:
        """The packet for the next media frame; the timestamp then advances by ``samples``.

        The first frame, and the first after :meth:`pause` or :meth:`start_talkspurt`, carries the marker.
        """
        packet = RtpPacket(self.payload_type, self._next_sequence(), self.timestamp, self.ssrc, payload,
                           self._talkspurt)
        self._talkspurt = False
        self._advance(samples)
        self.packet_count += 1
        self.octet_count += len(payload)
        return packet

    def pack_frame(self, buffer: bytearray, payload: Payload) -> bytearray:
        """Like :meth:`frame` (``samples`` = one per payload octet, as G.711), written into ``buffer``.

        The send path of every leg runs this 50 times a second: the fixed 12-octet header is packed in
        place and the payload copied behind it, with no packet object and no new datagram. ``buffer``
        is resized to the packet and returned; it is the caller's to reuse for the next frame once the
        datagram has left. The payload type must be valid (0-127): it was checked when negotiated.
        """
        seq = self.sequence
        timestamp = self.timestamp
        size = len(payload)
        pt = self.payload_type
        if self._talkspurt:
            pt |= 0x80
            self._talkspurt = False
        _HEADER.pack_into(buffer, 0, 0x80, pt, seq, timestamp, self.ssrc)
        buffer[HEADER_SIZE:] = payload
        self.sequence = (seq + 1) & 0xFFFF
        self.timestamp = (timestamp + size) & 0xFFFFFFFF
        self.packet_count += 1
        self.octet_count += size
        return buffer

    def pause(self, samples: int | None = None) -> None:
        """Let media time pass without a packet (silence not sent); the next frame starts a talkspurt."""
        self._advance(samples)
        self._talkspurt = True

    def start_talkspurt(self) -> None:
        """Mark the next frame as the start of a talkspurt (e.g. after a prompt switch)."""
        self._talkspurt = True

    def event(self, payload: Payload, payload_type: int, timestamp: int, marker: bool) -> RtpPacket:
        """A packet of another payload type (telephone-event) with its own timestamp, same sequence space."""
        packet = RtpPacket(payload_type, self._next_sequence(), timestamp & 0xFFFFFFFF, self.ssrc, payload,
                           marker)
        self.packet_count += 1
        self.octet_count += len(payload)
        return packet
