"""RTCP (RFC 3550 §6): parse compound packets, build SR/RR/SDES/BYE, report blocks from a stream.

Enough for call-quality statistics: what the far end says about our stream (its report blocks,
round-trip time from LSR/DLSR) and what we say about theirs (loss and jitter from
:class:`waterline.rtp.stream.ReceiveStream`). Other packet types (APP, feedback, XR) are returned as
:class:`OtherRtcp` and otherwise ignored. Malformed input raises :class:`RtpError`.

Times: ``wallclock`` is Unix time in seconds (it becomes the NTP timestamp of a sender report);
``now`` is any monotonic clock in seconds, used only for differences (DLSR).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from waterline.rtp.packet import Payload, RtpError
from waterline.rtp.stream import ReceiveStream, SendStream

__all__ = [
    "Bye",
    "OtherRtcp",
    "ReceiverReport",
    "ReportBlock",
    "RtcpPacket",
    "SdesChunk",
    "SenderReport",
    "SourceDescription",
    "ntp_timestamp",
    "parse_compound",
    "receiver_report",
    "report_block",
    "round_trip_time",
    "sender_report",
    "serialise_compound",
]

SR, RR, SDES, BYE = 200, 201, 202, 203
SDES_CNAME = 1
_NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01
_HEADER = struct.Struct("!BBH")
_BLOCK = struct.Struct("!IIIIII")
_SENDER_INFO = struct.Struct("!IQIII")


def ntp_timestamp(wallclock: float) -> int:
    """The 64-bit NTP timestamp (32.32 fixed point since 1900) of a Unix time."""
    return round((wallclock + _NTP_EPOCH_OFFSET) * 2**32) & 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """Reception statistics about one source (RFC 3550 §6.4.1); ``jitter`` in timestamp units,
    ``lsr`` the middle 32 bits of that source's last SR, ``dlsr`` the delay since then in 1/65536 s."""

    ssrc: int
    fraction_lost: int
    cumulative_lost: int
    highest_seq: int
    jitter: int
    lsr: int = 0
    dlsr: int = 0

    def serialise(self) -> bytes:
        """The 24 octets of the block (cumulative loss clamped to its signed 24 bits)."""
        lost = max(-0x800000, min(0x7FFFFF, self.cumulative_lost)) & 0xFFFFFF
        try:
            return _BLOCK.pack(self.ssrc, (self.fraction_lost << 24) | lost, self.highest_seq, self.jitter,
                               self.lsr, self.dlsr)
        except struct.error as error:
            raise RtpError(f"report block field out of range: {error}") from None


@dataclass(frozen=True, slots=True)
class SenderReport:
    """SR: the sender's NTP and RTP time of one instant, its counts, and its report blocks."""

    ssrc: int
    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()

    def serialise(self) -> bytes:
        """The SR as wire bytes."""
        body = _pack(_SENDER_INFO, self.ssrc, self.ntp_timestamp, self.rtp_timestamp,
                     self.packet_count & 0xFFFFFFFF, self.octet_count & 0xFFFFFFFF)
        return _packet(SR, len(self.reports), body + b"".join(b.serialise() for b in self.reports))


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    """RR: report blocks from a participant that is not sending."""

    ssrc: int
    reports: tuple[ReportBlock, ...] = ()

    def serialise(self) -> bytes:
        """The RR as wire bytes."""
        body = _pack(struct.Struct("!I"), self.ssrc)
        return _packet(RR, len(self.reports), body + b"".join(b.serialise() for b in self.reports))


@dataclass(frozen=True, slots=True)
class SdesChunk:
    """The SDES items of one source as (type, value) pairs."""

    ssrc: int
    items: tuple[tuple[int, bytes], ...]

    @property
    def cname(self) -> str | None:
        """The CNAME item, decoded leniently, or None."""
        for kind, value in self.items:
            if kind == SDES_CNAME:
                return value.decode("utf-8", "replace")
        return None


@dataclass(frozen=True, slots=True)
class SourceDescription:
    """SDES: descriptions of one or more sources."""

    chunks: tuple[SdesChunk, ...]

    def serialise(self) -> bytes:
        """The SDES packet as wire bytes (each chunk null-terminated and padded to 32 bits)."""
        parts: list[bytes] = []
        for chunk in self.chunks:
            data = bytearray(struct.pack("!I", chunk.ssrc & 0xFFFFFFFF))
            for kind, value in chunk.items:
                if not 1 <= kind <= 255 or len(value) > 255:
                    raise RtpError("SDES item type or length out of range")
                data += bytes((kind, len(value))) + value
            data += bytes(4 - (len(data) % 4))  # at least one null octet ends the item list
            parts.append(bytes(data))
        return _packet(SDES, len(self.chunks), b"".join(parts))


@dataclass(frozen=True, slots=True)
class Bye:
    """BYE: the listed sources leave, optionally with a reason."""

    ssrcs: tuple[int, ...]
    reason: str | None = None

    def serialise(self) -> bytes:
        """The BYE as wire bytes."""
        body = b"".join(struct.pack("!I", ssrc & 0xFFFFFFFF) for ssrc in self.ssrcs)
        if self.reason is not None:
            text = self.reason.encode("utf-8")[:255]
            body += bytes((len(text),)) + text
            body += bytes(-len(body) % 4)
        return _packet(BYE, len(self.ssrcs), body)


@dataclass(frozen=True, slots=True)
class OtherRtcp:
    """A packet type this module does not interpret (APP, RTPFB/PSFB, XR ...), kept as its body."""

    packet_type: int
    count: int
    body: bytes


RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Bye | OtherRtcp


def _pack(shape: struct.Struct, *values: int) -> bytes:
    try:
        return shape.pack(*values)
    except struct.error as error:
        raise RtpError(f"RTCP field out of range: {error}") from None


def _packet(packet_type: int, count: int, body: bytes) -> bytes:
    if count > 31:
        raise RtpError("at most 31 report blocks, chunks or sources per RTCP packet")
    return _HEADER.pack(0x80 | count, packet_type, len(body) // 4) + body


def serialise_compound(packets: Iterable[RtcpPacket]) -> bytes:
    """Concatenate packets into one compound datagram (RFC 3550 wants an SR or RR first, then SDES)."""
    parts: list[bytes] = []
    for packet in packets:
        if isinstance(packet, OtherRtcp):
            body = packet.body + bytes(-len(packet.body) % 4)
            parts.append(_packet(packet.packet_type, packet.count, body))
        else:
            parts.append(packet.serialise())
    return b"".join(parts)


# -- parsing -----------------------------------------------------------------------------------------------


def _blocks(body: memoryview, offset: int, count: int) -> tuple[ReportBlock, ...]:
    if offset + count * _BLOCK.size > len(body):
        raise RtpError("report blocks longer than the packet")
    blocks = []
    for i in range(count):
        ssrc, lost_word, highest, jitter, lsr, dlsr = _BLOCK.unpack_from(body, offset + i * _BLOCK.size)
        lost = lost_word & 0xFFFFFF
        if lost & 0x800000:
            lost -= 0x1000000
        blocks.append(ReportBlock(ssrc, lost_word >> 24, lost, highest, jitter, lsr, dlsr))
    return tuple(blocks)


def _sdes(body: memoryview, count: int) -> SourceDescription:
    chunks = []
    offset = 0
    for _ in range(count):
        if offset + 4 > len(body):
            raise RtpError("truncated SDES chunk")
        (ssrc,) = struct.unpack_from("!I", body, offset)
        offset += 4
        items = []
        while True:
            if offset >= len(body):
                raise RtpError("SDES item list not terminated")
            kind = body[offset]
            if kind == 0:
                offset = (offset + 4) & ~3  # skip the null octet(s) up to the next 32-bit boundary
                break
            if offset + 2 > len(body) or offset + 2 + body[offset + 1] > len(body):
                raise RtpError("truncated SDES item")
            length = body[offset + 1]
            items.append((kind, bytes(body[offset + 2: offset + 2 + length])))
            offset += 2 + length
        chunks.append(SdesChunk(ssrc, tuple(items)))
    return SourceDescription(tuple(chunks))


def _bye(body: memoryview, count: int) -> Bye:
    if 4 * count > len(body):
        raise RtpError("BYE lists more sources than it holds")
    ssrcs = struct.unpack_from(f"!{count}I", body)
    reason = None
    offset = 4 * count
    if offset < len(body):
        length = body[offset]
        if offset + 1 + length > len(body):
            raise RtpError("BYE reason longer than the packet")
        reason = bytes(body[offset + 1: offset + 1 + length]).decode("utf-8", "replace")
    return Bye(ssrcs, reason)


def parse_compound(data: Payload) -> list[RtcpPacket]:
    """Parse a compound RTCP datagram into its packets; :class:`RtpError` when any part is malformed."""
    view = data if isinstance(data, memoryview) else memoryview(data)
    if len(view) < 4:
        raise RtpError("datagram too short for RTCP")
    packets: list[RtcpPacket] = []
    offset = 0
    while offset < len(view):
        if offset + 4 > len(view):
            raise RtpError("trailing octets after the last RTCP packet")
        first, packet_type, words = _HEADER.unpack_from(view, offset)
        if first >> 6 != 2:
            raise RtpError(f"not RTCP version 2 (version {first >> 6})")
        end = offset + 4 + 4 * words
        if end > len(view):
            raise RtpError("RTCP length field beyond the datagram")
        body = view[offset + 4: end]
        if first & 0x20:
            if not body or body[-1] == 0 or body[-1] > len(body):
                raise RtpError("bad RTCP padding")
            body = body[: len(body) - body[-1]]
        count = first & 0x1F
        packets.append(_parse_one(packet_type, count, body))
        offset = end
    return packets


def _parse_one(packet_type: int, count: int, body: memoryview) -> RtcpPacket:
    if packet_type == SR:
        if len(body) < _SENDER_INFO.size:
            raise RtpError("truncated sender report")
        ssrc, ntp, rtp_ts, packets, octets = _SENDER_INFO.unpack_from(body)
        return SenderReport(ssrc, ntp, rtp_ts, packets, octets, _blocks(body, _SENDER_INFO.size, count))
    if packet_type == RR:
        if len(body) < 4:
            raise RtpError("truncated receiver report")
        (ssrc,) = struct.unpack_from("!I", body)
        return ReceiverReport(ssrc, _blocks(body, 4, count))
    if packet_type == SDES:
        return _sdes(body, count)
    if packet_type == BYE:
        return _bye(body, count)
    return OtherRtcp(packet_type, count, bytes(body))


# -- statistics --------------------------------------------------------------------------------------------


def report_block(stream: ReceiveStream, now: float) -> ReportBlock | None:
    """The report block about ``stream``'s source; starts its next loss interval. None until it is valid."""
    if stream.ssrc is None or not stream.valid:
        return None
    interval = stream.take_interval()
    dlsr = 0
    if stream.last_sr_arrival is not None:
        dlsr = max(0, min(0xFFFFFFFF, round((now - stream.last_sr_arrival) * 65536)))
    return ReportBlock(stream.ssrc, interval.fraction, stream.lost, stream.extended_highest_seq & 0xFFFFFFFF,
                       min(0xFFFFFFFF, int(stream.jitter)), stream.last_sr, dlsr)


def sender_report(stream: SendStream, wallclock: float, blocks: Sequence[ReportBlock] = ()) -> SenderReport:
    """An SR for what ``stream`` sent; its RTP timestamp is the stream's next frame (about ``wallclock``)."""
    return SenderReport(stream.ssrc, ntp_timestamp(wallclock), stream.timestamp, stream.packet_count,
                        stream.octet_count, tuple(blocks))


def receiver_report(ssrc: int, blocks: Sequence[ReportBlock] = ()) -> ReceiverReport:
    """An RR from ``ssrc`` (our SSRC, when we have not sent media since the last report)."""
    return ReceiverReport(ssrc, tuple(blocks))


def round_trip_time(block: ReportBlock, arrival_wallclock: float) -> float | None:
    """Round trip in seconds from a block about *our* stream, received at ``arrival_wallclock`` (Unix time).

    None when the block carries no LSR (the peer has not had a sender report from us yet).
    """
    if block.lsr == 0:
        return None
    arrival = (ntp_timestamp(arrival_wallclock) >> 16) & 0xFFFFFFFF
    delay = (arrival - block.lsr - block.dlsr) & 0xFFFFFFFF
    return delay / 65536
