"""Bridge the audio of two legs (caller ↔ agent): a pure relay core and a thin asyncio socket part.

:class:`Relay` is sans-IO: a datagram received on one leg goes in with the arrival time ``now``, the
datagram to send on the other leg comes out (or None). Per direction it

- classifies the packet by payload type: G.711 audio (PCMU 0 / PCMA 8, whichever the sender really
  uses), the sending leg's RFC 4733 telephone-event type, or anything else (dropped and counted);
- transcodes PCMU↔PCMA with the ``rtp.g711`` tables when the legs' laws differ, and gives a
  telephone-event the *receiving* leg's event payload type (dropped when that leg has none);
- rewrites SSRC, sequence number and timestamp into the receiving leg's own space, kept in a
  :class:`~waterline.rtp.stream.SendStream` (random origin, packet/octet counters for RTCP SR). The
  mapping is an offset, so gaps and reordering pass through unchanged and the far end's jitter
  buffer sees the real loss; when the source restarts (new SSRC, re-INVITE, sequence resync) the
  offsets are recomputed so the outgoing stream continues without a jump back, advanced by the time
  that passed, with the marker bit set;
- optionally taps the audio to a recorder (:class:`RecordingTap`, e.g.
  :class:`~waterline.telephony.recording.CallRecorder`): caller frames to ``write_a`` (left channel),
  the other side to ``write_b`` (right), in each leg's own law. Frames are placed by RTP timestamp,
  so lost packets and DTMF pauses become silence and the two channels keep the call's time line.

Packets are forwarded as they arrive, not re-paced: both senders pace their own media already, and
holding frames back would only add latency. RTCP arriving on an RTP port (rtcp-mux) is not relayed:
each leg's RTCP describes that leg only.

:class:`RelayBridge` is the I/O side: it feeds datagrams of either leg to the core and sends the
results with two callables; :class:`UdpLeg` is one leg's RTP socket with symmetric RTP (the far
address latches to where packets really come from, for phones behind NAT); :func:`open_udp_relay`
wires both for a call.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, cast

from waterline.rtp.g711 import Law, law_for_payload_type
from waterline.rtp.packet import Payload, RtpError, RtpPacket, is_rtcp, parse_packet
from waterline.rtp.stream import ReceiveStream, SendStream

__all__ = [
    "Address",
    "DirectionStats",
    "LegFormat",
    "Relay",
    "RelayBridge",
    "RecordingTap",
    "UdpLeg",
    "open_udp_relay",
]

Address = tuple[str, int]
CLOCK_RATE = 8000
FRAME_SAMPLES = 160
_SEQ_MASK = 0xFFFF
_TS_MASK = 0xFFFFFFFF
# a timestamp gap larger than this (a held call, a source that restarted its clock) is not filled
# with silence sample by sample: the tap re-anchors the source on the wall clock instead
MAX_GAP_SAMPLES = CLOCK_RATE * 10


@dataclass(frozen=True, slots=True)
class LegFormat:
    """What was negotiated on one leg: its G.711 law and its telephone-event payload type (if any)."""

    law: Law
    event_payload_type: int | None = 101


class RecordingTap(Protocol):
    """Where relayed audio is recorded (``CallRecorder`` fits): one frame or None (gap) per 20 ms."""

    def write_a(self, frame: bytes | None) -> None:
        """A frame of the caller (left channel) in the caller leg's law; None writes 20 ms of silence."""

    def write_b(self, frame: bytes | None) -> None:
        """A frame of the other side (right channel) in that leg's law; None writes 20 ms of silence."""


@dataclass(slots=True)
class DirectionStats:
    """Counters of one direction of the relay."""

    received: int = 0
    forwarded: int = 0
    transcoded: int = 0
    events: int = 0
    dropped_malformed: int = 0
    dropped_rtcp: int = 0
    dropped_payload_type: int = 0
    dropped_events: int = 0
    dropped_invalid: int = 0
    source_changes: int = 0
    tap_frames: int = 0
    tap_silence: int = 0
    tap_late: int = 0


class _TapPosition:
    """Where the next frame of one leg goes in its recording file, from the RTP timestamp."""

    __slots__ = ("origin", "started", "write", "written")

    def __init__(self, write: Callable[[bytes | None], None], started: float) -> None:
        self.write = write
        self.started = started
        self.written = 0  # samples written to this leg's file
        self.origin: int | None = None  # RTP timestamp that maps to sample 0 of the file

    def anchor(self, timestamp: int, now: float) -> None:
        """Place ``timestamp`` at the wall-clock position of ``now`` (never before what is written)."""
        frames_elapsed = round((now - self.started) * CLOCK_RATE / FRAME_SAMPLES)
        position = max(self.written, frames_elapsed * FRAME_SAMPLES)
        self.origin = (timestamp - position) & _TS_MASK

    def put(self, timestamp: int, payload: Payload, now: float, stats: DirectionStats) -> None:
        if self.origin is None:
            self.anchor(timestamp, now)
        assert self.origin is not None
        position = (timestamp - self.origin) & _TS_MASK
        if position >= 1 << 31:
            position -= 1 << 32  # before the origin: a straggler, or a source that jumped back
        if abs(position - self.written) > MAX_GAP_SAMPLES:
            self.anchor(timestamp, now)
            position = (timestamp - self.origin) & _TS_MASK
        # half a frame of tolerance: senders with another ptime or odd timestamps still line up
        if position + FRAME_SAMPLES // 2 <= self.written:
            stats.tap_late += 1  # the file is append-only: a late or duplicate frame is dropped
            return
        missing = (position - self.written + FRAME_SAMPLES // 2) // FRAME_SAMPLES
        for _ in range(missing):
            self.write(None)
        stats.tap_silence += missing
        self.written += missing * FRAME_SAMPLES
        self.write(bytes(payload))
        stats.tap_frames += 1
        self.written += len(payload)


class _Direction:
    """One direction of the relay: packets of the source leg become packets of the target leg."""

    __slots__ = ("last_now", "last_samples", "receive", "seq_offset", "source", "stats", "stream", "tap",
                 "target", "ts_offset")

    def __init__(self, source: LegFormat, target: LegFormat, stream: SendStream,
                 tap: _TapPosition | None) -> None:
        self.source = source
        self.target = target
        self.stream = stream
        self.tap = tap
        events = frozenset() if source.event_payload_type is None else frozenset({source.event_payload_type})
        self.receive = ReceiveStream(CLOCK_RATE, min_sequential=1, event_payload_types=events)
        self.stats = DirectionStats()
        self.seq_offset: int | None = None
        self.ts_offset = 0
        self.last_now = 0.0
        self.last_samples = FRAME_SAMPLES

    def _restart(self, packet: RtpPacket, now: float) -> None:
        stream = self.stream
        if self.seq_offset is not None:
            # continue after what was sent, advanced by the time that passed (at least one frame)
            elapsed = max(self.last_samples, round((now - self.last_now) * CLOCK_RATE))
            stream.timestamp = (stream.timestamp - self.last_samples + elapsed) & _TS_MASK
            self.stats.source_changes += 1
        self.seq_offset = (stream.sequence - packet.sequence) & _SEQ_MASK
        self.ts_offset = (stream.timestamp - packet.timestamp) & _TS_MASK
        if self.tap is not None:
            self.tap.origin = None  # the new source's timestamps start elsewhere

    def forward(self, data: Payload, now: float) -> bytes | None:
        stats = self.stats
        stats.received += 1
        if is_rtcp(data):
            stats.dropped_rtcp += 1
            return None
        try:
            packet = parse_packet(data)
        except RtpError:
            stats.dropped_malformed += 1
            return None
        pt = packet.payload_type
        law = law_for_payload_type(pt)
        is_event = law is None and pt == self.source.event_payload_type
        if law is None and not is_event:
            stats.dropped_payload_type += 1
            return None
        if is_event and self.target.event_payload_type is None:
            stats.dropped_events += 1
            return None
        arrival = self.receive.receive(packet, now)
        if not arrival.valid:
            stats.dropped_invalid += 1
            return None
        marker = packet.marker
        if self.seq_offset is None or arrival.restarted or arrival.new_source:
            self._restart(packet, now)
            marker = True
        if law is not None:
            target_law = self.target.law
            payload: Payload = packet.payload
            if self.tap is not None:
                self.tap.put(packet.timestamp, payload, now, stats)
            if law.payload_type != target_law.payload_type:
                payload = law.transcode_to(target_law, payload)
                stats.transcoded += 1
            out_pt = target_law.payload_type
            samples = len(packet.payload)
        else:
            assert self.target.event_payload_type is not None
            payload = packet.payload
            out_pt = self.target.event_payload_type
            samples = 0  # an event's timestamp is its tone's start: the media clock does not move
            stats.events += 1
        assert self.seq_offset is not None
        seq = (packet.sequence + self.seq_offset) & _SEQ_MASK
        ts = (packet.timestamp + self.ts_offset) & _TS_MASK
        stream = self.stream
        # remember the next free sequence number / media time for a later source restart
        if ((seq - stream.sequence) & _SEQ_MASK) < 1 << 15:
            stream.sequence = (seq + 1) & _SEQ_MASK
        if samples and ((ts + samples - stream.timestamp) & _TS_MASK) < 1 << 31:
            stream.timestamp = (ts + samples) & _TS_MASK
            self.last_samples = samples
        stream.packet_count += 1
        stream.octet_count += len(payload)
        self.last_now = now
        stats.forwarded += 1
        return RtpPacket(out_pt, seq, ts, stream.ssrc, payload, marker).serialise()


class Relay:
    """The sans-IO bridge between leg A (the caller) and leg B (the agent or other side)."""

    def __init__(self, a: LegFormat, b: LegFormat, rng: random.Random, *, tap: RecordingTap | None = None,
                 now: float = 0.0) -> None:
        """``rng`` picks each outgoing stream's SSRC and origins; ``tap`` records both directions.

        ``now`` is when the bridge (and the recording's time line) starts.
        """
        self.a = a
        self.b = b
        self.to_a_stream = SendStream(rng, a.law.payload_type)
        self.to_b_stream = SendStream(rng, b.law.payload_type)
        tap_a = _TapPosition(tap.write_a, now) if tap is not None else None
        tap_b = _TapPosition(tap.write_b, now) if tap is not None else None
        self._a_to_b = _Direction(a, b, self.to_b_stream, tap_a)
        self._b_to_a = _Direction(b, a, self.to_a_stream, tap_b)

    def from_a(self, datagram: Payload, now: float) -> bytes | None:
        """A datagram received from leg A at ``now``: the datagram to send to leg B, or None."""
        return self._a_to_b.forward(datagram, now)

    def from_b(self, datagram: Payload, now: float) -> bytes | None:
        """A datagram received from leg B at ``now``: the datagram to send to leg A, or None."""
        return self._b_to_a.forward(datagram, now)

    @property
    def a_to_b(self) -> DirectionStats:
        """Counters of the caller → other side direction."""
        return self._a_to_b.stats

    @property
    def b_to_a(self) -> DirectionStats:
        """Counters of the other side → caller direction."""
        return self._b_to_a.stats

    @property
    def received_from_a(self) -> ReceiveStream:
        """Receive statistics of leg A's source (loss, jitter: for RTCP reports on leg A)."""
        return self._a_to_b.receive

    @property
    def received_from_b(self) -> ReceiveStream:
        """Receive statistics of leg B's source."""
        return self._b_to_a.receive


# -- I/O -----------------------------------------------------------------------------------------------------


SendBytes = Callable[[bytes], None]


class RelayBridge:
    """Drives a :class:`Relay` from datagrams of either leg; sends through the given callables.

    The callables send to the leg's current far address (see :class:`UdpLeg`); an ``OSError`` while
    sending is counted, not raised, so one unreachable phone never breaks the receive path.
    """

    def __init__(self, relay: Relay, send_a: SendBytes, send_b: SendBytes,
                 clock: Callable[[], float]) -> None:
        """``clock`` gives the arrival time of each datagram (same origin as the relay's ``now``)."""
        self.relay = relay
        self.send_a = send_a
        self.send_b = send_b
        self.clock = clock
        self.send_errors = 0

    def datagram_from_a(self, data: bytes) -> None:
        """Leg A's socket received ``data``."""
        out = self.relay.from_a(data, self.clock())
        if out is not None:
            self._send(self.send_b, out)

    def datagram_from_b(self, data: bytes) -> None:
        """Leg B's socket received ``data``."""
        out = self.relay.from_b(data, self.clock())
        if out is not None:
            self._send(self.send_a, out)

    def _send(self, send: SendBytes, data: bytes) -> None:
        try:
            send(data)
        except OSError:
            self.send_errors += 1


class UdpLeg(asyncio.DatagramProtocol):
    """One leg's RTP socket: hands datagrams to ``on_datagram`` and sends to the leg's far address.

    Symmetric RTP: the far address starts as the one from SDP and follows the source of the RTP
    packets actually received (a phone behind NAT is reachable only there). RTCP and garbage do not
    move it.
    """

    def __init__(self, remote: Address, on_datagram: SendBytes | None = None, *, latch: bool = True) -> None:
        """``remote`` from the leg's SDP; ``on_datagram`` may be set later (before packets arrive)."""
        self.remote = remote
        self.on_datagram = on_datagram
        self.latch = latch
        self.latched = False
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport (asyncio calls this when the socket is ready)."""
        # the selector loop's datagram transport does not subclass DatagramTransport: trust the loop
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        """Latch to the sender of RTP and pass the datagram on."""
        if self.latch and (addr[0], addr[1]) != self.remote and len(data) >= 12 and data[0] >> 6 == 2 \
                and not is_rtcp(data):
            self.remote = (str(addr[0]), int(addr[1]))
            self.latched = True
        if self.on_datagram is not None:
            self.on_datagram(data)

    def send(self, data: bytes) -> None:
        """Send ``data`` to the far address (dropped while the socket is closed)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(data, self.remote)

    @property
    def local_address(self) -> Address:
        """The (host, port) this leg's socket is bound to."""
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    def close(self) -> None:
        """Close the socket (idempotent)."""
        if self.transport is not None:
            self.transport.close()


async def open_udp_relay(relay: Relay, a_local: Address, a_remote: Address, b_local: Address,
                         b_remote: Address, clock: Callable[[], float]) -> tuple[RelayBridge, UdpLeg, UdpLeg]:
    """Bind one socket per leg and bridge them through ``relay``; close the two legs to end it.

    Port 0 in a local address picks a free port (see ``UdpLeg.local_address``).
    """
    loop = asyncio.get_running_loop()
    leg_a = UdpLeg(a_remote)
    leg_b = UdpLeg(b_remote)
    await loop.create_datagram_endpoint(lambda: leg_a, local_addr=a_local)
    try:
        await loop.create_datagram_endpoint(lambda: leg_b, local_addr=b_local)
    except OSError:
        leg_a.close()
        raise
    bridge = RelayBridge(relay, leg_a.send, leg_b.send, clock)
    leg_a.on_datagram = bridge.datagram_from_a
    leg_b.on_datagram = bridge.datagram_from_b
    return bridge, leg_a, leg_b
