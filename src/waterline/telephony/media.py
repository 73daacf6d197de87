"""Per-call media sessions on the event loop: RTP and RTCP sockets, symmetric RTP, DTMF, paced sending.

A :class:`MediaSession` owns one even RTP port and the RTCP port above it, plain non-blocking UDP
sockets watched with ``loop.add_reader``: opening a session is synchronous (the port is bound before
the SDP answer names it, and there is no task or transport object per call). The pool lends the pair,
but the RTCP socket is only bound once the call carries media (the first packet from the caller, the
first feed played, or the first report due), and the session joins the pacer only when it is first
given a feed: a call that never carries media (a signalling-only test call, a caller that hangs up at
once) costs one socket and no pacer work. Measured with ``bench/sip_call_cpu.py --modes media``: the
second socket, its reader and the pacer slot were ~40 % of the media set-up of such a call.

Receive path, per packet: parse (:mod:`waterline.rtp.packet`), latch the remote address, receive
statistics (:class:`~waterline.rtp.stream.ReceiveStream`), then either the RFC 4733 receiver (on the
negotiated telephone-event payload type; each key reported once, when it goes down) or the audio
consumers (echo, recorder, relay) with the payload and its :class:`~waterline.rtp.stream.Arrival`.

Symmetric RTP (RFC 4961): a phone behind NAT sends from an address other than the one in its SDP,
and only its own packets tell us where it really is. We send to the SDP address until the first
packet arrives, then to the packet's source. A packet from another source is ignored while the
latched one is alive; once the latched source has been silent for :data:`RELATCH_AFTER` seconds the
next source wins (NAT rebinding, or the call moved to another media server), so a stray or spoofed
stream cannot take over a live call.

Send path: each session registers one stream with the process's shared
:class:`~waterline.telephony.pacer.Pacer` for its whole life; what it sends is its current *feed*
(``feed(skipped) -> G.711 payload | None``): a prompt player, an echo queue, later a relay. The
session numbers the payloads as RTP (:class:`~waterline.rtp.stream.SendStream`), hands each one to
its outbound tap (the recorder's second channel), and the pacer sends them on its absolute schedule.

RTCP: the engine calls :meth:`MediaEngine.send_reports` every few seconds; each session due sends an
SR (or RR while it has sent nothing) with a report block about the caller and its CNAME, and a BYE
when it closes. Reports from the far end give its view of our stream (loss, jitter, round trip).
:meth:`MediaSession.close` returns the call's quality figures for the journal.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from waterline.rtp.dtmf import DigitStarted, DtmfReceiver
from waterline.rtp.g711 import PCMA, PCMU, Law
from waterline.rtp.packet import HEADER_SIZE, Payload, RtpError, RtpPacket, parse_packet
from waterline.rtp.rtcp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    RtcpPacket,
    SdesChunk,
    SenderReport,
    SourceDescription,
    parse_compound,
    receiver_report,
    report_block,
    round_trip_time,
    sender_report,
    serialise_compound,
)
from waterline.rtp.stream import Arrival, ReceiveStream, SendStream
from waterline.telephony.pacer import FrameSource, PacedStream, Pacer, SendDatagram
from waterline.telephony.rtpport import PortPool

__all__ = [
    "AudioConsumer",
    "DigitHandler",
    "Feed",
    "MediaEngine",
    "MediaSession",
    "MediaStats",
    "law_for_codec",
]

_log = logging.getLogger(__name__)

Address = tuple[str, int]
Feed = Callable[[int], bytes | None]
"""What a session sends: ``feed(skipped) -> payload | None``; ``skipped`` periods were missed by the pacer."""
AudioConsumer = Callable[[Payload, Arrival], None]
"""Gets every valid audio payload the caller sends (a view into the datagram: copy it to keep it)."""
DigitHandler = Callable[[str, str], None]
"""Gets ``(digit, via)``, ``via`` being "rfc4733" or "info"."""

RECV_SIZE = 2048
_PLAIN_FIRST_OCTET = b"\x80"
"""Version 2 without padding, extension or CSRCs: the first octet of nearly every RTP packet."""
_FIXED_HEADER = struct.Struct("!BHII")
"""The fixed header after its first octet: marker + payload type, sequence, timestamp, SSRC."""
MAX_TAP_GAP = 50
"""Skipped periods written to the outbound tap as silence at most, per pacer catch-up (a second)."""
RELATCH_AFTER = 0.5
RTCP_INTERVAL = 5.0
"""Mean seconds between reports (RFC 3550's minimum; two-party calls stay far below its bandwidth share).
Each interval is drawn from 0.5-1.5 times this (RFC 3550 §6.3.1): calls set up in a burst would
otherwise report in step, every 5 s, as one burst of hundreds of datagrams."""
BIND_ATTEMPTS = 128
BIND_JUMPS = 16
"""Pairs tried when opening a session before giving up: other programs (another engine on the host)
may hold many ports of the range, and a failed bind costs microseconds."""
CNAME_PREFIX = "waterline"
SDES_CNAME = 1

_LAWS = {"PCMU": PCMU, "PCMA": PCMA}


def law_for_codec(name: str) -> Law | None:
    """The G.711 law of a negotiated codec name ("PCMU", "PCMA"), or None for anything else."""
    return _LAWS.get(name.upper())


@dataclass(frozen=True, slots=True)
class MediaStats:
    """Quality figures of one session, journalled at call end.

    ``lost``/``jitter_ms`` describe what we received from the caller; ``remote_*`` what the caller's
    last RTCP report said about our stream (None when it sent none); ``rtt_ms`` the round trip computed
    from that report.
    """

    packets_in: int
    packets_out: int
    lost: int
    jitter_ms: float
    malformed: int
    foreign: int
    relatched: int
    digits: int
    remote_fraction_lost: float | None
    remote_jitter_ms: float | None
    rtt_ms: float | None

    def as_fields(self) -> dict[str, int | float | None]:
        """The figures as flat journal fields (``rtp_`` prefixed)."""
        return {
            "rtp_in": self.packets_in, "rtp_out": self.packets_out, "rtp_lost": self.lost,
            "rtp_jitter_ms": self.jitter_ms, "rtp_malformed": self.malformed, "rtp_foreign": self.foreign,
            "rtp_relatched": self.relatched, "rtp_digits": self.digits,
            "rtcp_remote_loss": self.remote_fraction_lost, "rtcp_remote_jitter_ms": self.remote_jitter_ms,
            "rtcp_rtt_ms": self.rtt_ms,
        }


_NONBLOCKING_DGRAM = socket.SOCK_DGRAM | getattr(socket, "SOCK_NONBLOCK", 0)
"""Non-blocking from creation where the platform allows (Linux): one system call less per socket."""


def _bind(host: str, port: int) -> socket.socket | None:
    """A non-blocking UDP socket bound to ``host:port``, or None when the port is taken."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, _NONBLOCKING_DGRAM)
    try:
        sock.setblocking(False)
        sock.bind((host, port))
    except OSError:
        sock.close()
        return None
    return sock


class MediaSession:
    """The media of one call leg: its sockets, receive state, DTMF, paced sending, RTCP."""

    def __init__(self, engine: MediaEngine, call: str, port: int, rtp: socket.socket,
                 send_stream: SendStream) -> None:
        self._engine = engine
        self.call = call
        self.port = port
        self._rtp = rtp
        self._rtcp: socket.socket | None = None
        """Bound on first need (:meth:`_open_rtcp`); None before, or when another program took the port."""
        self._rtcp_tried = False
        self.tx = send_stream
        self.law: Law = PCMU
        self.payload_type = PCMU.payload_type
        self.dtmf_payload_type: int | None = None
        self.rx = ReceiveStream(8000)
        self.dtmf = DtmfReceiver()
        self.remote: Address | None = None
        """Where we send RTP: the SDP address until the first packet arrives, then its source."""
        self.rtcp_remote: Address | None = None
        self.latched = False
        self._rtcp_latched = False
        self._source: Address | None = None
        self._last_in = 0.0
        self.consumers: list[AudioConsumer] = []
        self.on_digit: DigitHandler | None = None
        self.outbound_tap: Callable[[bytes], None] | None = None
        self.forward: Callable[[bytes, float], None] | None = None
        """While the leg is bridged: every RTP datagram from the latched peer goes here as it is (the
        relay transcodes and renumbers it), instead of to the consumers and the DTMF receiver."""
        self._feed: Feed | None = None
        self.muted = False
        self.closed = False
        self.next_report = 0.0
        self._sent_since_report = False
        self._datagram = bytearray(HEADER_SIZE)
        self._paced: PacedStream | None = None
        """The session's pacer slot, taken by the first :meth:`play` of a feed and kept until close."""
        self.packets_in = 0
        self.malformed = 0
        self.foreign = 0
        self.relatched = 0
        self.digits = 0
        self.remote_block: ReportBlock | None = None
        self.rtt: float | None = None

    # -- configuration ---------------------------------------------------------------------------------------

    def configure(self, law: Law, payload_type: int, dtmf_payload_type: int | None,
                  remote: Address | None, *, sends: bool = True) -> None:
        """Apply a negotiated description (at answer, and again after a re-INVITE or a late answer).

        A new remote address from the SDP replaces the latched one (the peer moved its media on
        purpose); ``sends`` False (we were put on hold, or the stream is recvonly for us) mutes sending.
        """
        self.law = law
        self.payload_type = payload_type
        self.tx.payload_type = payload_type
        self.dtmf_payload_type = dtmf_payload_type
        if remote is not None and self._engine.usable(remote):
            if remote != self.remote and remote != self._source:
                self.latched = False
                self._rtcp_latched = False
                self._source = None
                self._set_remote(remote, rtcp_too=True)
        self.muted = not sends

    def _set_remote(self, remote: Address, *, rtcp_too: bool) -> None:
        self.remote = remote
        if self._paced is not None:
            self._paced.addr = remote
        if rtcp_too:
            self.rtcp_remote = (remote[0], remote[1] + 1)

    def play(self, feed: Feed | None) -> None:
        """Send ``feed``'s payloads from the next pacer period on (None: send nothing)."""
        self._feed = feed
        self.tx.start_talkspurt()
        if feed is not None and self._paced is None and not self.closed:
            # the socket's own sendto, not a method around it: one Python frame less per packet sent;
            # _tick returns its reused bytearray, which only the socket's sendto ever sees (any buffer)
            self._paced = self._engine.pacer.add(cast(FrameSource, self._tick), self.remote or ("0.0.0.0", 9),
                                                 cast(SendDatagram, self._rtp.sendto))
            self._open_rtcp()  # we are about to send: the peer's reports will follow

    def watch(self) -> None:
        """Start reading the RTP socket on the engine's loop (done by :meth:`MediaEngine.open`)."""
        self._engine.loop.add_reader(self._rtp.fileno(), self._on_rtp)

    def _open_rtcp(self) -> None:
        """Bind and watch the RTCP socket (port + 1) the first time the call needs it."""
        if self._rtcp_tried or self.closed:
            return
        self._rtcp_tried = True
        sock = self._engine.bind_rtcp(self.port + 1)
        if sock is not None:
            self._rtcp = sock
            self._engine.loop.add_reader(sock.fileno(), self._on_rtcp)

    # -- sending (called by the pacer) -----------------------------------------------------------------------

    def _tick(self, skipped: int) -> bytes | bytearray | None:
        feed = self._feed
        if skipped:
            self.tx.pause(skipped * 160)
            tap = self.outbound_tap
            if tap is not None and feed is not None:
                # what the caller did not hear is silence on the recording's time line, not nothing
                silence = self.law.silence_frame(160)
                for _ in range(min(skipped, MAX_TAP_GAP)):
                    tap(silence)
        if feed is None or self.remote is None:
            return None
        frame = feed(skipped)
        if frame is None or self.muted:
            return None
        tap = self.outbound_tap
        if tap is not None:
            tap(frame)
        self._sent_since_report = True
        # one datagram buffer per session, patched in place: the pacer sends it before the next tick
        return self.tx.pack_frame(self._datagram, frame)

    # -- receiving -------------------------------------------------------------------------------------------

    def _on_rtp(self) -> None:
        # One datagram per readiness callback: at 50 packets/s a socket rarely holds two, and draining
        # until EAGAIN cost a second syscall and an exception per packet (measured: the receive path's
        # largest item). The loop's level-triggered poll calls again while more are waiting.
        try:
            data, addr = self._rtp.recvfrom(RECV_SIZE)
        except OSError:
            return  # nothing after all, or an ICMP error reported on the socket
        self.receive(data, addr, self._engine.clock())

    def receive(self, data: bytes, addr: Address, now: float) -> None:
        """Handle one RTP datagram from ``addr`` that arrived at ``now`` (the socket callback's body)."""
        packet: RtpPacket | None = None
        if data[:1] == _PLAIN_FIRST_OCTET and len(data) >= HEADER_SIZE:
            # the usual packet (no CSRC, extension or padding): its fixed header says all we need, and
            # the payload is only looked at when a consumer wants the audio
            marker_pt, seq, timestamp, ssrc = _FIXED_HEADER.unpack_from(data, 1)
            pt = marker_pt & 0x7F
        else:
            try:
                packet = parse_packet(data)
            except RtpError:
                self.malformed += 1
                return
            pt, seq, timestamp, ssrc = packet.payload_type, packet.sequence, packet.timestamp, packet.ssrc
        if addr != self._source and not self._latch(addr, now):
            self.foreign += 1
            return
        self._last_in = now
        self.packets_in += 1
        arrival = self.rx.receive_header(pt, seq, timestamp, ssrc, now)
        forward = self.forward
        if forward is not None:
            forward(data, now)
            return
        if pt == self.payload_type:
            consumers = self.consumers
            if arrival.valid and consumers:
                payload = packet.payload if packet is not None else memoryview(data)[HEADER_SIZE:]
                for consumer in consumers:
                    consumer(payload, arrival)
        elif pt == self.dtmf_payload_type:
            try:
                events = self.dtmf.receive(packet if packet is not None else parse_packet(data), now)
            except RtpError:
                self.malformed += 1
                return
            for event in events:
                if isinstance(event, DigitStarted):
                    self.digit(event.digit, "rfc4733")

    def send_raw(self, datagram: bytes) -> None:
        """Send one ready RTP datagram to the peer now (a bridged leg: the relay numbered it)."""
        remote = self.remote
        if remote is None or self.closed or self.muted:
            return
        if not self._rtcp_tried:
            self._open_rtcp()  # we send media: the peer's reports will follow
        try:
            self._rtp.sendto(datagram, remote)
        except OSError:
            pass  # an ICMP error from a vanished peer: its RTP timeout or BYE ends the leg
        self._sent_since_report = True

    def _latch(self, addr: Address, now: float) -> bool:
        if self._source is not None:
            if now - self._last_in < RELATCH_AFTER:
                return False
            self.relatched += 1
        self._source = addr
        self.latched = True
        if not self._rtcp_tried:
            self._open_rtcp()  # media flows: the caller's RTCP reports will follow
        if addr != self.remote:
            # RTCP goes to the port above the RTP source until the peer's own RTCP shows where it is
            self._set_remote(addr, rtcp_too=not self._rtcp_latched)
        return True

    def digit(self, digit: str, via: str) -> None:
        """A digit arrived (RFC 4733 from the receive path, or a SIP INFO the switch passes on)."""
        self.digits += 1
        handler = self.on_digit
        if handler is not None:
            handler(digit, via)

    # -- RTCP ------------------------------------------------------------------------------------------------

    def _on_rtcp(self) -> None:
        rtcp = self._rtcp
        if rtcp is None:
            return
        try:
            data, addr = rtcp.recvfrom(RECV_SIZE)
        except OSError:
            return
        self.receive_rtcp(data, addr, self._engine.clock(), self._engine.wallclock())

    def receive_rtcp(self, data: bytes, addr: Address, now: float, wallclock: float) -> None:
        """Handle one RTCP datagram: note the peer's SR, keep its report about our stream."""
        try:
            packets = parse_compound(data)
        except RtpError:
            self.malformed += 1
            return
        if self._source is not None and addr[0] == self._source[0]:
            self.rtcp_remote = addr  # symmetric RTCP: answer where its reports come from
            self._rtcp_latched = True
        for packet in packets:
            if isinstance(packet, SenderReport):
                if packet.ssrc == self.rx.ssrc:
                    self.rx.note_sender_report(packet.ntp_timestamp, now)
                self._note_blocks(packet.reports, wallclock)
            elif isinstance(packet, ReceiverReport):
                self._note_blocks(packet.reports, wallclock)

    def _note_blocks(self, blocks: tuple[ReportBlock, ...], wallclock: float) -> None:
        for block in blocks:
            if block.ssrc == self.tx.ssrc:
                self.remote_block = block
                rtt = round_trip_time(block, wallclock)
                if rtt is not None:
                    self.rtt = rtt

    def report(self, now: float, wallclock: float, *, bye: bool = False) -> bytes:
        """Our compound RTCP datagram now: SR (or RR before we sent anything) + SDES CNAME (+ BYE)."""
        block = report_block(self.rx, now)
        blocks = (block,) if block is not None else ()
        first: RtcpPacket
        if self._sent_since_report or self.tx.packet_count:
            first = sender_report(self.tx, wallclock, blocks)
        else:
            first = receiver_report(self.tx.ssrc, blocks)
        self._sent_since_report = False
        cname = SdesChunk(self.tx.ssrc, ((SDES_CNAME, self._engine.cname),))
        packets: list[RtcpPacket] = [first, SourceDescription((cname,))]
        if bye:
            packets.append(Bye((self.tx.ssrc,)))
        return serialise_compound(packets)

    def send_report(self, now: float, wallclock: float, *, bye: bool = False) -> None:
        """Send :meth:`report` to the peer's RTCP address (nothing while that is unknown)."""
        self.next_report = now + self._engine.report_interval()
        if self.rtcp_remote is None:
            return
        self._open_rtcp()
        rtcp = self._rtcp
        if rtcp is None:
            return  # the port above ours is held by another program: no RTCP for this call
        try:
            rtcp.sendto(self.report(now, wallclock, bye=bye), self.rtcp_remote)
        except OSError:
            pass  # best effort: statistics, never worth failing a call for

    # -- end -------------------------------------------------------------------------------------------------

    def stats(self) -> MediaStats:
        """The session's quality figures so far."""
        block = self.remote_block
        return MediaStats(
            packets_in=self.packets_in, packets_out=self.tx.packet_count, lost=max(0, self.rx.lost),
            jitter_ms=round(self.rx.jitter / 8.0, 2), malformed=self.malformed, foreign=self.foreign,
            relatched=self.relatched, digits=self.digits,
            remote_fraction_lost=None if block is None else round(block.fraction_lost / 256, 4),
            remote_jitter_ms=None if block is None else round(block.jitter / 8.0, 2),
            rtt_ms=None if self.rtt is None else round(self.rtt * 1000, 2),
        )

    def close(self) -> MediaStats:
        """Stop sending, say RTCP BYE, close the sockets and return the port pair; idempotent."""
        if self.closed:
            return self.stats()
        self.closed = True
        if self._paced is not None:
            self._paced.close()
        self._feed = None
        self.consumers = []
        self.on_digit = None
        self.outbound_tap = None
        self.forward = None
        engine = self._engine
        if self.packets_in or self.tx.packet_count:
            # a session that carried no media has nothing to report (signalling-only test calls); one
            # that did has its RTCP socket already (opened when the media started)
            self.send_report(engine.clock(), engine.wallclock(), bye=True)
        # the pacer slot refers back to the session (its _tick): drop it so the session is freed by
        # reference counting, not left for the cyclic collector
        self._paced = None
        engine.forget(self)
        engine.close_pair(self.port, self._rtp, self._rtcp)
        return self.stats()


class MediaEngine:
    """All media sessions of the process: port pool, shared pacer, sockets on the running loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, pool: PortPool, pacer: Pacer, rng: random.Random, *,
                 host: str, clock: Callable[[], float], wallclock: Callable[[], float],
                 cname: str = CNAME_PREFIX) -> None:
        """``host`` is the address the sockets bind; ``clock`` the monotonic clock of arrival times
        (the pacer's), ``wallclock`` Unix time for RTCP; ``rng`` a ``random.Random`` for SSRCs and
        sequence origins."""
        self.loop = loop
        self.pool = pool
        self.pacer = pacer
        self._rng = rng
        self.host = host
        self.clock = clock
        self.wallclock = wallclock
        self.cname = f"{cname}@{host}".encode()
        self._family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sessions: dict[str, MediaSession] = {}
        self.opened = 0
        self.bind_failures = 0
        self.rtcp_bind_failures = 0
        """RTCP ports found taken when a session needed them (that call went without RTCP)."""

    def __len__(self) -> int:
        return len(self._sessions)

    def usable(self, remote: Address) -> bool:
        """Whether an SDP address can be sent to from our sockets: an IP literal of our family, not the
        "any" address (old-style hold) and a real port. Host names are not resolved here (a lookup
        would stall every call); such a peer is reached once its first packet is latched."""
        host, port = remote
        if not 0 < port < 65536:
            return False
        try:
            # inet_pton, not the ipaddress module: a tenth of the cost on the call set-up path
            packed = socket.inet_pton(self._family, host)
        except (OSError, ValueError, TypeError):
            return False
        return any(packed)  # all zeros is the unspecified address

    def report_interval(self) -> float:
        """Seconds until a session's next RTCP report: :data:`RTCP_INTERVAL` randomised (0.5-1.5x)."""
        return RTCP_INTERVAL * (0.5 + self._rng.random())

    def get(self, call: str) -> MediaSession | None:
        """The open session of leg ``call``, if any."""
        return self._sessions.get(call)

    def open(self, call: str) -> MediaSession | None:
        """Bind a new session's RTP port (its RTCP port is bound when the call carries media) and start
        watching it; None when no pair is free."""
        bound = self._bind()
        if bound is None:
            return None
        port, rtp = bound
        session = MediaSession(self, call, port, rtp, SendStream(self._rng, PCMU.payload_type))
        session.next_report = self.clock() + self.report_interval()
        session.watch()
        self._sessions[call] = session
        self.opened += 1
        return session

    def _bind(self) -> tuple[int, socket.socket] | None:
        for _ in range(BIND_ATTEMPTS):
            port = self.pool.allocate()
            if port is None:
                return None
            # the RTCP port above is bound later, when needed; if another program holds it then, that
            # call goes without RTCP (counted in rtcp_bind_failures): RTP is what the caller hears
            rtp = _bind(self.host, port)
            if rtp is not None:
                return port, rtp
            # held by another program: back of the queue (perhaps it is free again by then), and jump
            # over the stretch of the range that program is probably using
            self.bind_failures += 1
            self.pool.release(port)
            self.pool.skip(len(self.pool) // BIND_JUMPS)
        return None

    def bind_rtcp(self, port: int) -> socket.socket | None:
        """A session's RTCP socket on ``port`` (odd, lent with its RTP port), or None when it is taken."""
        sock = _bind(self.host, port)
        if sock is None:
            self.rtcp_bind_failures += 1
        return sock

    def forget(self, session: MediaSession) -> None:
        """Drop a closed session from the table (called by :meth:`MediaSession.close`)."""
        if self._sessions.get(session.call) is session:
            del self._sessions[session.call]

    def close_pair(self, port: int, rtp: socket.socket, rtcp: socket.socket | None) -> None:
        """Stop watching and close a closed session's sockets, and give its port pair back."""
        for sock in (rtp, rtcp):
            if sock is None:
                continue
            try:
                self.loop.remove_reader(sock.fileno())
            except (ValueError, OSError, RuntimeError):
                pass  # the loop is closing already
            sock.close()
        self.pool.release(port)

    def send_reports(self) -> int:
        """Send RTCP for every session whose report is due; returns how many were sent."""
        now = self.clock()
        wallclock = self.wallclock()
        sent = 0
        for session in list(self._sessions.values()):
            if session.next_report <= now:
                session.send_report(now, wallclock)
                sent += 1
        return sent

    def close_all(self) -> None:
        """Close every session (engine stop)."""
        for session in list(self._sessions.values()):
            try:
                session.close()
            except Exception:
                _log.exception("closing the media of %s failed", session.call)
