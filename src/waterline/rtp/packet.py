"""RTP data packets (RFC 3550 §5.1): parse and serialise.

This runs for every 20 ms frame of every leg, so the parser reads the fixed header with one
``struct`` call and hands the payload out as a ``memoryview`` of the datagram rather than a copy.
Malformed input raises :class:`RtpError` and nothing else; the media edge drops such datagrams.

Layout::

     0                   1                   2                   3
    |V=2|P|X|  CC   |M|     PT      |       sequence number         |
    |                           timestamp                           |
    |           synchronization source (SSRC) identifier            |
    |            contributing source (CSRC) identifiers (0-15)      |
    |   profile-defined (16)        |        length (words, 16)     |   if X
    |                        header extension                       |   if X
    |                            payload ...       | padding | count |  if P
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

__all__ = [
    "HEADER_SIZE",
    "HeaderExtension",
    "Payload",
    "RtpError",
    "RtpPacket",
    "is_rtcp",
    "parse_packet",
]

HEADER_SIZE = 12
_HEADER = struct.Struct("!BBHII")
_EXTENSION = struct.Struct("!HH")
_VERSION_BITS = 0x80

# Anything with the buffer protocol that is cheap to slice; parsing produces memoryviews.
Payload = bytes | bytearray | memoryview


class RtpError(ValueError):
    """A datagram is not a well-formed RTP or RTCP packet (the edge drops it)."""


@dataclass(frozen=True, slots=True)
class HeaderExtension:
    """The header extension: a 16-bit profile-defined value and data padded to 32-bit words."""

    profile: int
    data: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.profile <= 0xFFFF:
            raise RtpError(f"extension profile out of range: {self.profile}")
        if len(self.data) % 4 or len(self.data) > 0xFFFF * 4:
            raise RtpError("extension data must be a whole number of 32-bit words (at most 65535)")


# Not frozen: constructing frozen dataclasses goes through object.__setattr__ and this object is made
# 50 times a second per leg. Treat instances as values anyway.
@dataclass(slots=True)
class RtpPacket:
    """One RTP packet. ``padding`` is the number of padding octets (including the count octet)."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: Payload = b""
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension: HeaderExtension | None = None
    padding: int = field(default=0)

    def serialise(self) -> bytes:
        """Return the packet as wire bytes; raises :class:`RtpError` when a field is out of range."""
        pt = self.payload_type
        if not 0 <= pt <= 127:
            raise RtpError(f"payload type out of range: {pt}")
        if len(self.csrcs) > 15:
            raise RtpError("at most 15 CSRC identifiers")
        if not 0 <= self.padding <= 255:
            raise RtpError(f"padding out of range: {self.padding}")
        first = _VERSION_BITS | len(self.csrcs)
        if self.padding:
            first |= 0x20
        if self.extension is not None:
            first |= 0x10
        try:
            header = _HEADER.pack(first, pt | 0x80 if self.marker else pt, self.sequence, self.timestamp,
                                  self.ssrc)
            if not self.csrcs and self.extension is None and not self.padding:
                return header + self.payload
            parts: list[Payload] = [header]
            if self.csrcs:
                parts.append(struct.pack(f"!{len(self.csrcs)}I", *self.csrcs))
        except struct.error as error:
            raise RtpError(f"header field out of range: {error}") from None
        if self.extension is not None:
            parts.append(_EXTENSION.pack(self.extension.profile, len(self.extension.data) // 4))
            parts.append(self.extension.data)
        parts.append(self.payload)
        if self.padding:
            parts.append(bytes(self.padding - 1) + bytes((self.padding,)))
        return b"".join(parts)


def parse_packet(data: Payload) -> RtpPacket:
    """Parse one RTP datagram; the payload is a zero-copy view into ``data``.

    Raises :class:`RtpError` for a wrong version, a truncated header, CSRC list or extension, or a
    padding count that is zero or longer than what follows the header.
    """
    view = data if isinstance(data, memoryview) else memoryview(data)
    size = len(view)
    if size < HEADER_SIZE:
        raise RtpError(f"datagram too short for RTP: {size} octets")
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(view)
    if first & 0xC0 != _VERSION_BITS:
        raise RtpError(f"not RTP version 2 (version {first >> 6})")
    offset = HEADER_SIZE
    csrcs: tuple[int, ...] = ()
    count = first & 0x0F
    if count:
        offset += 4 * count
        if offset > size:
            raise RtpError("truncated CSRC list")
        csrcs = struct.unpack_from(f"!{count}I", view, HEADER_SIZE)
    extension = None
    if first & 0x10:
        if offset + 4 > size:
            raise RtpError("truncated header extension")
        profile, words = _EXTENSION.unpack_from(view, offset)
        offset += 4
        end = offset + 4 * words
        if end > size:
            raise RtpError("header extension longer than the packet")
        extension = HeaderExtension(profile, bytes(view[offset:end]))
        offset = end
    padding = 0
    end = size
    if first & 0x20:
        padding = view[size - 1]
        if padding == 0 or padding > size - offset:
            raise RtpError(f"bad padding count {padding}")
        end -= padding
    return RtpPacket(second & 0x7F, sequence, timestamp, ssrc, view[offset:end], bool(second & 0x80),
                     csrcs, extension, padding)


def is_rtcp(data: Payload) -> bool:
    """Tell RTCP from RTP when both share one port (RFC 5761 §4: second octet 192-223 is RTCP)."""
    return len(data) >= 2 and 192 <= data[1] <= 223
