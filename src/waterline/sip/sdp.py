"""SDP (RFC 4566) parsing and serialisation, and audio offer/answer (RFC 3264).

Only what a telephony edge needs is modelled in detail: the origin, connection data, timing, audio
media lines with their payload types, ``rtpmap``/``fmtp``/``ptime`` attributes and the direction
attributes.  Everything else is kept verbatim so that a description survives a parse/serialise round
trip.  Malformed input raises :class:`SdpError`; an offer we cannot accept raises
:class:`SdpNegotiationError` (a subclass), which the endpoint answers with ``488 Not Acceptable Here``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "AnswerCache",
    "Connection",
    "Direction",
    "MediaDescription",
    "Negotiated",
    "Origin",
    "Rtpmap",
    "SdpError",
    "SdpNegotiationError",
    "SessionDescription",
    "accept_answer",
    "answer_offer",
    "build_offer",
    "is_on_hold",
    "parse_sdp",
]


class SdpError(ValueError):
    """A session description is malformed (or, for the subclass, not acceptable)."""


class SdpNegotiationError(SdpError):
    """A well-formed offer or answer has no audio stream we can use (answer with 488)."""


class Direction(enum.StrEnum):
    """Media direction attribute (RFC 3264 §5.1), from the point of view of the description's author."""

    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    @property
    def sends(self) -> bool:
        """True if the author of the description sends media."""
        return self in (Direction.SENDRECV, Direction.SENDONLY)

    @property
    def receives(self) -> bool:
        """True if the author of the description receives media."""
        return self in (Direction.SENDRECV, Direction.RECVONLY)

    def reversed(self) -> Direction:
        """The direction the other party sees (sendonly <-> recvonly)."""
        return _direction(send=self.receives, receive=self.sends)

    def restricted_to(self, other: Direction) -> Direction:
        """The direction allowed by both ``self`` and ``other`` (intersection of send and receive)."""
        return _direction(send=self.sends and other.sends, receive=self.receives and other.receives)


def _direction(*, send: bool, receive: bool) -> Direction:
    if send and receive:
        return Direction.SENDRECV
    if send:
        return Direction.SENDONLY
    if receive:
        return Direction.RECVONLY
    return Direction.INACTIVE


_DIRECTIONS = {d.value: d for d in Direction}

# Static audio payload types (RFC 3551 table 4) that may appear without an rtpmap.
_STATIC_AUDIO: dict[int, tuple[str, int]] = {
    0: ("PCMU", 8000),
    3: ("GSM", 8000),
    4: ("G723", 8000),
    8: ("PCMA", 8000),
    9: ("G722", 8000),
    18: ("G729", 8000),
}
_STATIC_BY_NAME = {name: pt for pt, (name, _rate) in _STATIC_AUDIO.items()}

TELEPHONE_EVENT = "telephone-event"
# RFC 4733 events we understand: DTMF 0-9 * # A-D (0-15) and flash (16).
_SUPPORTED_EVENTS = frozenset(range(17))


@dataclass(slots=True)
class Origin:
    """The ``o=`` line. ``session_id`` is opaque; ``session_version`` grows with each new offer."""

    username: str
    session_id: str
    session_version: int
    address: str
    net_type: str = "IN"
    addr_type: str = "IP4"

    def __str__(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.session_version} "
            f"{self.net_type} {self.addr_type} {self.address}"
        )


@dataclass(slots=True)
class Connection:
    """A ``c=`` line. A multicast ``/ttl`` suffix is kept in ``suffix`` (e.g. ``"/127"``)."""

    address: str
    net_type: str = "IN"
    addr_type: str = "IP4"
    suffix: str = ""

    @property
    def is_null(self) -> bool:
        """True for the RFC 2543 hold address ``0.0.0.0`` (or the IPv6 unspecified address)."""
        return self.address in ("0.0.0.0", "::")

    def __str__(self) -> str:
        return f"{self.net_type} {self.addr_type} {self.address}{self.suffix}"


@dataclass(slots=True, frozen=True)
class Rtpmap:
    """An ``a=rtpmap`` value: encoding name, clock rate and optional channel count."""

    encoding: str
    clock_rate: int
    channels: int | None = None

    def __str__(self) -> str:
        tail = f"/{self.channels}" if self.channels is not None else ""
        return f"{self.encoding}/{self.clock_rate}{tail}"


@dataclass(slots=True)
class MediaDescription:
    """One ``m=`` section with its connection, payload maps and attributes.

    ``formats`` keeps the format tokens as written; for RTP profiles they are checked to be payload
    type numbers and :attr:`payload_types` gives them as integers.  ``attributes`` holds attributes
    other than rtpmap/fmtp/ptime/maxptime/direction, in order, as ``(name, value or None)``.
    """

    media: str
    port: int
    proto: str
    formats: list[str]
    port_count: int | None = None
    connection: Connection | None = None
    rtpmaps: dict[int, Rtpmap] = field(default_factory=dict)
    fmtps: dict[int, str] = field(default_factory=dict)
    ptime: int | None = None
    maxptime: int | None = None
    direction: Direction | None = None
    attributes: list[tuple[str, str | None]] = field(default_factory=list)
    other_lines: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_rtp(self) -> bool:
        """True if the transport protocol is an RTP profile (formats are payload types)."""
        return "RTP/" in self.proto.upper()

    @property
    def payload_types(self) -> list[int]:
        """The formats as RTP payload type numbers (empty for non-RTP media)."""
        return [int(f) for f in self.formats] if self.is_rtp else []

    def codec(self, payload_type: int) -> Rtpmap | None:
        """The encoding of a payload type: its rtpmap, else the static RFC 3551 assignment, else None."""
        mapping = self.rtpmaps.get(payload_type)
        if mapping is not None:
            return mapping
        static = _STATIC_AUDIO.get(payload_type)
        return Rtpmap(static[0], static[1]) if static else None

    def lines(self) -> list[str]:
        """The section's lines (without line terminators), in RFC 4566 order."""
        port = f"{self.port}/{self.port_count}" if self.port_count is not None else str(self.port)
        out = [f"m={self.media} {port} {self.proto} {' '.join(self.formats)}"]
        out.extend(f"{kind}={value}" for kind, value in self.other_lines if kind == "i")
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out.extend(f"{kind}={value}" for kind, value in self.other_lines if kind != "i")
        for fmt in self.formats:
            if not fmt.isdigit():
                continue
            pt = int(fmt)
            if pt in self.rtpmaps:
                out.append(f"a=rtpmap:{pt} {self.rtpmaps[pt]}")
            if pt in self.fmtps:
                out.append(f"a=fmtp:{pt} {self.fmtps[pt]}")
        if self.ptime is not None:
            out.append(f"a=ptime:{self.ptime}")
        if self.maxptime is not None:
            out.append(f"a=maxptime:{self.maxptime}")
        out.extend(_attribute_line(name, value) for name, value in self.attributes)
        if self.direction is not None:
            out.append(f"a={self.direction.value}")
        return out


@dataclass(slots=True)
class SessionDescription:
    """A whole SDP body. Session-level lines not modelled here (i, u, e, p, b, r, z, k) are kept in
    ``other_lines`` and written back in RFC 4566 order."""

    origin: Origin
    session_name: str = "-"
    connection: Connection | None = None
    times: list[tuple[int, int]] = field(default_factory=lambda: [(0, 0)])
    direction: Direction | None = None
    attributes: list[tuple[str, str | None]] = field(default_factory=list)
    media: list[MediaDescription] = field(default_factory=list)
    other_lines: list[tuple[str, str]] = field(default_factory=list)
    version: int = 0

    def connection_for(self, media: MediaDescription) -> Connection | None:
        """The connection that applies to ``media``: its own ``c=`` line, else the session's."""
        return media.connection if media.connection is not None else self.connection

    def direction_for(self, media: MediaDescription) -> Direction:
        """The direction that applies to ``media`` (media level, else session level, else sendrecv)."""
        if media.direction is not None:
            return media.direction
        return self.direction if self.direction is not None else Direction.SENDRECV

    def __str__(self) -> str:
        lines = [f"v={self.version}", f"o={self.origin}", f"s={self.session_name}"]
        lines.extend(_ordered(self.other_lines, "iuep"))
        if self.connection is not None:
            lines.append(f"c={self.connection}")
        lines.extend(_ordered(self.other_lines, "b"))
        lines.extend(f"t={start} {stop}" for start, stop in self.times)
        # r= lines belong to the t= before them; a telephony session has one t= line, so all go after it
        lines.extend(_ordered(self.other_lines, "rzk"))
        lines.extend(_attribute_line(name, value) for name, value in self.attributes)
        if self.direction is not None:
            lines.append(f"a={self.direction.value}")
        for media in self.media:
            lines.extend(media.lines())
        return "\r\n".join(lines) + "\r\n"

    def to_bytes(self) -> bytes:
        """The description as a message body (UTF-8, CRLF line ends)."""
        return str(self).encode("utf-8")


def _ordered(lines: Iterable[tuple[str, str]], kinds: str) -> list[str]:
    return [f"{kind}={value}" for k in kinds for kind, value in lines if kind == k]


def _attribute_line(name: str, value: str | None) -> str:
    return f"a={name}" if value is None else f"a={name}:{value}"


# ---------------------------------------------------------------------------------------------------
# Parsing

_SESSION_KINDS = frozenset("vosiuepcbtrzka")
_MEDIA_KINDS = frozenset("icbka")


def parse_sdp(data: bytes | str) -> SessionDescription:
    """Parse an SDP body.

    Accepts CRLF or bare LF line ends and ignores blank lines (both common in the field).  A body
    that is not UTF-8 is decoded as GB18030, because Chinese equipment writes ``s=`` in GBK.
    Raises :class:`SdpError` naming the offending line when the description is malformed.
    """
    text = _decode(data) if isinstance(data, bytes) else data
    lines = [(n, raw.rstrip("\r")) for n, raw in enumerate(text.split("\n"), start=1) if raw.strip()]
    if not lines:
        raise SdpError("empty session description")
    parsed: list[tuple[int, str, str, str]] = []
    for number, line in lines:
        if len(line) < 2 or line[1] != "=":
            raise SdpError(f"line {number}: expected '<type>=<value>', got {line[:40]!r}")
        parsed.append((number, line, line[0], line[2:]))
    number, line, kind, value = parsed[0]
    if kind != "v" or value.strip() != "0":
        raise SdpError(f"line {number}: description must start with v=0, got {line[:40]!r}")
    if len(parsed) < 2 or parsed[1][2] != "o":
        raise SdpError("o= must follow v=")
    number, line, _, value = parsed[1]
    try:
        session = SessionDescription(origin=_parse_origin(value))
    except SdpError as exc:
        raise SdpError(f"line {number} ({line[:40]!r}): {exc}") from None
    builder = _Builder(session)
    for number, line, kind, value in parsed[2:]:
        try:
            builder.line(kind, value)
        except SdpError as exc:
            raise SdpError(f"line {number} ({line[:40]!r}): {exc}") from None
    # t= is mandatory, but some gateways omit it; its absence changes nothing for audio.
    session.times = builder.times or [(0, 0)]
    for index, media in enumerate(session.media):
        if media.port != 0 and session.connection_for(media) is None:
            raise SdpError(f"media section {index + 1} has no c= line and there is no session-level c=")
    return session


class _Builder:
    """Feeds the lines after v= and o= into a SessionDescription, enforcing RFC 4566 placement."""

    def __init__(self, session: SessionDescription) -> None:
        self.session = session
        self.current: MediaDescription | None = None
        self.times: list[tuple[int, int]] = []
        self.seen_name = False

    def line(self, kind: str, value: str) -> None:
        if kind == "m":
            self.current = _parse_media(value)
            self.session.media.append(self.current)
        elif self.current is None:
            self.session_line(kind, value)
        else:
            self.media_line(self.current, kind, value)

    def session_line(self, kind: str, value: str) -> None:
        session = self.session
        if kind not in _SESSION_KINDS:
            raise SdpError(f"unknown line type {kind!r}")
        if kind in "vo":
            raise SdpError(f"repeated {kind}= line")
        if kind == "s":
            if self.seen_name:
                raise SdpError("repeated s= line")
            session.session_name, self.seen_name = value, True
        elif kind == "c":
            if session.connection is not None:
                raise SdpError("repeated session-level c= line")
            session.connection = _parse_connection(value)
        elif kind == "t":
            self.times.append(_parse_time(value))
        elif kind == "a":
            _session_attribute(session, value)
        else:
            session.other_lines.append((kind, value))

    @staticmethod
    def media_line(media: MediaDescription, kind: str, value: str) -> None:
        if kind not in _MEDIA_KINDS:
            raise SdpError(f"{kind}= line not allowed inside a media section")
        if kind == "c":
            if media.connection is not None:
                raise SdpError("repeated c= line in a media section")
            media.connection = _parse_connection(value)
        elif kind == "a":
            _media_attribute(media, value)
        else:
            media.other_lines.append((kind, value))


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def _fields(value: str, count: int, what: str) -> list[str]:
    parts = value.split()
    if len(parts) != count:
        raise SdpError(f"{what} needs {count} fields, got {len(parts)}")
    return parts


def _parse_int(text: str, what: str, *, low: int = 0, high: int | None = None) -> int:
    if not text.isascii() or not text.isdigit():
        raise SdpError(f"{what} is not a number: {text!r}")
    number = int(text)
    if number < low or (high is not None and number > high):
        raise SdpError(f"{what} out of range: {number}")
    return number


def _parse_origin(value: str) -> Origin:
    username, session_id, version, net_type, addr_type, address = _fields(value, 6, "o=")
    if not session_id.isascii() or not session_id.isdigit():
        raise SdpError(f"session id is not numeric: {session_id!r}")
    return Origin(username, session_id, _parse_int(version, "session version"), address, net_type, addr_type)


def _parse_connection(value: str) -> Connection:
    net_type, addr_type, address = _fields(value, 3, "c=")
    suffix = ""
    if "/" in address:
        address, slash, rest = address.partition("/")
        suffix = slash + rest
    if not address:
        raise SdpError("empty connection address")
    return Connection(address, net_type, addr_type, suffix)


def _parse_time(value: str) -> tuple[int, int]:
    start, stop = _fields(value, 2, "t=")
    return _parse_int(start, "start time"), _parse_int(stop, "stop time")


def _parse_media(value: str) -> MediaDescription:
    parts = value.split()
    if len(parts) < 4:
        raise SdpError("m= needs media, port, proto and at least one format")
    media, port_text, proto, *formats = parts
    port_count: int | None = None
    if "/" in port_text:
        port_text, _, count_text = port_text.partition("/")
        port_count = _parse_int(count_text, "port count", low=1)
    description = MediaDescription(
        media=media.lower(),
        port=_parse_int(port_text, "port", high=65535),
        proto=proto,
        formats=formats,
        port_count=port_count,
    )
    if description.is_rtp:
        for fmt in formats:
            _parse_int(fmt, "payload type", high=127)
    return description


def _split_attribute(value: str) -> tuple[str, str | None]:
    name, colon, rest = value.partition(":")
    if not name or " " in name:
        raise SdpError(f"bad attribute name {name!r}")
    return name, (rest if colon else None)


def _session_attribute(session: SessionDescription, value: str) -> None:
    name, rest = _split_attribute(value)
    direction = _DIRECTIONS.get(name.lower()) if rest is None else None
    if direction is not None:
        session.direction = direction
    else:
        session.attributes.append((name, rest))


def _media_attribute(media: MediaDescription, value: str) -> None:
    name, rest = _split_attribute(value)
    key = name.lower()
    if rest is None:
        direction = _DIRECTIONS.get(key)
        if direction is not None:
            media.direction = direction
            return
    elif key == "rtpmap":
        pt, mapping = _parse_rtpmap(rest)
        media.rtpmaps[pt] = mapping
        return
    elif key == "fmtp":
        pt_text, _, params = rest.strip().partition(" ")
        if pt_text.isdigit() and media.is_rtp:
            media.fmtps[_parse_int(pt_text, "fmtp payload type", high=127)] = params.strip()
            return
    elif key in ("ptime", "maxptime"):
        setattr(media, key, _parse_ptime(rest))
        return
    media.attributes.append((name, rest))


def _parse_rtpmap(value: str) -> tuple[int, Rtpmap]:
    pt_text, _, mapping = value.strip().partition(" ")
    pt = _parse_int(pt_text, "rtpmap payload type", high=127)
    pieces = mapping.strip().split("/")
    if len(pieces) not in (2, 3) or not pieces[0]:
        raise SdpError(f"rtpmap needs <encoding>/<clock rate>[/<channels>], got {mapping!r}")
    rate = _parse_int(pieces[1], "clock rate", low=1)
    channels = _parse_int(pieces[2], "channels", low=1) if len(pieces) == 3 else None
    return pt, Rtpmap(pieces[0], rate, channels)


def _parse_ptime(value: str) -> int:
    # ptime is in milliseconds and may be written with a fraction ("20.0")
    text = value.strip()
    whole, dot, fraction = text.partition(".")
    if not whole.isdigit() or (dot and fraction and not fraction.isdigit()):
        raise SdpError(f"bad packet time {text!r}")
    milliseconds = round(float(text))
    if not 1 <= milliseconds <= 1000:
        raise SdpError(f"packet time out of range: {text!r}")
    return milliseconds


# ---------------------------------------------------------------------------------------------------
# Offer/answer


@dataclass(slots=True, frozen=True)
class Negotiated:
    """The outcome of offer/answer for the audio stream.

    ``direction`` is *our* direction of media flow (sendonly: we send but do not receive);
    ``on_hold`` is True when the peer has put us on hold (it stopped receiving: sendonly or inactive,
    or the old 0.0.0.0 address).
    ``media_index`` is the position of the audio ``m=`` line used.
    """

    codec: str
    payload_type: int
    clock_rate: int
    dtmf_payload_type: int | None
    remote_address: str
    remote_port: int
    direction: Direction
    ptime: int | None
    on_hold: bool
    media_index: int


def _find_telephone_event(media: MediaDescription, clock_rate: int) -> int | None:
    for pt in media.payload_types:
        mapping = media.rtpmaps.get(pt)
        if (
            mapping is not None
            and mapping.encoding.lower() == TELEPHONE_EVENT
            and mapping.clock_rate == clock_rate
        ):
            return pt
    return None


def _parse_events(text: str) -> set[int]:
    """The event numbers of a telephone-event fmtp ("0-15,66"); malformed parts are ignored."""
    events: set[int] = set()
    for part in text.replace(" ", "").split(","):
        low, dash, high = part.partition("-")
        if low.isdigit() and (not dash or high.isdigit()):
            first, last = int(low), int(high) if dash else int(low)
            if last - first <= 255:
                events.update(range(first, last + 1))
    return events


def _format_events(events: set[int]) -> str:
    ranges: list[str] = []
    ordered = sorted(events)
    start = prev = ordered[0]
    for event in ordered[1:] + [-2]:
        if event == prev + 1:
            prev = event
            continue
        ranges.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = event
    return ",".join(ranges)


def _event_fmtp(offered: str | None) -> str | None:
    if offered is None:
        return _format_events(set(_SUPPORTED_EVENTS))
    common = _parse_events(offered) & _SUPPORTED_EVENTS
    return _format_events(common) if common else None


def _is_hold(session: SessionDescription, media: MediaDescription) -> bool:
    connection = session.connection_for(media)
    direction = session.direction_for(media)
    return not direction.receives or (connection is not None and connection.is_null)


def is_on_hold(session: SessionDescription) -> bool:
    """True if the first active audio stream of ``session`` puts the receiver on hold.

    Both hold styles are recognised: RFC 3264 (sendonly or inactive) and the older RFC 2543 way
    (connection address 0.0.0.0).  A description with no active audio stream counts as held.
    """
    for media in session.media:
        if media.media == "audio" and media.port != 0:
            return _is_hold(session, media)
    return True


def _address_type(ip: str) -> str:
    return "IP6" if ":" in ip else "IP4"


def _new_session(
    *, local_ip: str, session_id: str, session_version: int, username: str, session_name: str
) -> SessionDescription:
    addr_type = _address_type(local_ip)
    return SessionDescription(
        origin=Origin(username, session_id, session_version, local_ip, "IN", addr_type),
        session_name=session_name,
        connection=Connection(local_ip, "IN", addr_type),
    )


def answer_offer(
    offer: SessionDescription,
    *,
    local_ip: str,
    local_port: int,
    session_id: str,
    session_version: int,
    supported: Sequence[str] = ("PCMU", "PCMA"),
    dtmf: bool = True,
    direction: Direction = Direction.SENDRECV,
    ptime: int | None = None,
    username: str = "waterline",
    session_name: str = "waterline",
) -> tuple[SessionDescription, Negotiated]:
    """Answer an audio offer (RFC 3264 §6) and return the answer with the negotiated result.

    The first audio stream with a codec we support is accepted; the codec is the first payload type
    *of the offer* whose encoding is in ``supported`` (the offerer's preference wins).  If the offer
    carries telephone-event at the codec's clock rate and ``dtmf`` is on, it is echoed with the same
    payload type.  The answer's direction mirrors the offer's (sendonly -> recvonly, inactive ->
    inactive), further restricted by ``direction``, our own wish (sendonly to hold the peer).  Only
    RTP/AVP streams are accepted (we have no SRTP).  The
    offer's ptime is kept, else ``ptime`` is used.  Every other m-line is rejected with port 0, as are
    non-audio streams.  Raises :class:`SdpNegotiationError` if no audio stream can be accepted.

    ``session_id`` and ``session_version`` go into ``o=``: keep the id for the whole dialog and raise
    the version whenever our description changes (RFC 3264 §8).
    """
    wanted = [name.upper() for name in supported]
    answer = _new_session(
        local_ip=local_ip,
        session_id=session_id,
        session_version=session_version,
        username=username,
        session_name=session_name,
    )
    negotiated: Negotiated | None = None
    for index, media in enumerate(offer.media):
        chosen = None
        # plain RTP only: answering RTP/SAVP without SRTP keys would leave both sides deaf
        if (
            negotiated is None
            and media.media == "audio"
            and media.port != 0
            and media.proto.upper() == "RTP/AVP"
        ):
            chosen = _choose_codec(media, wanted)
        if chosen is None:
            answer.media.append(_rejected(media))
            continue
        pt, mapping = chosen
        event_pt = _find_telephone_event(media, mapping.clock_rate) if dtmf else None
        event_fmtp = _event_fmtp(media.fmtps.get(event_pt)) if event_pt is not None else None
        if event_fmtp is None:
            event_pt = None
        our_direction = offer.direction_for(media).reversed().restricted_to(direction)
        connection = offer.connection_for(media)
        assert connection is not None  # parse_sdp guarantees it for active streams
        answered = MediaDescription(
            media="audio",
            port=local_port,
            proto=media.proto,
            formats=[str(pt)],
            rtpmaps={pt: Rtpmap(mapping.encoding, mapping.clock_rate, mapping.channels)},
            ptime=media.ptime if media.ptime is not None else ptime,
            direction=our_direction,
        )
        if pt in media.fmtps:
            answered.fmtps[pt] = media.fmtps[pt]
        if event_pt is not None and event_fmtp is not None:
            answered.formats.append(str(event_pt))
            answered.rtpmaps[event_pt] = Rtpmap(TELEPHONE_EVENT, mapping.clock_rate)
            answered.fmtps[event_pt] = event_fmtp
        answer.media.append(answered)
        negotiated = Negotiated(
            codec=mapping.encoding.upper(),
            payload_type=pt,
            clock_rate=mapping.clock_rate,
            dtmf_payload_type=event_pt,
            remote_address=connection.address,
            remote_port=media.port,
            direction=our_direction,
            ptime=answered.ptime,
            on_hold=_is_hold(offer, media),
            media_index=index,
        )
    if negotiated is None:
        raise SdpNegotiationError("no acceptable audio stream in the offer")
    return answer, negotiated


def _choose_codec(media: MediaDescription, wanted: list[str]) -> tuple[int, Rtpmap] | None:
    for pt in media.payload_types:
        mapping = media.codec(pt)
        if mapping is not None and mapping.encoding.upper() in wanted:
            return pt, mapping
    return None


def _rejected(media: MediaDescription) -> MediaDescription:
    # RFC 3264 §6: a rejected stream keeps its place with port 0 and at least one format
    return MediaDescription(media=media.media, port=0, proto=media.proto, formats=list(media.formats))


def build_offer(
    *,
    local_ip: str,
    local_port: int,
    session_id: str,
    session_version: int,
    codecs: Sequence[str] = ("PCMU", "PCMA"),
    dtmf_payload_type: int | None = 101,
    ptime: int | None = 20,
    direction: Direction = Direction.SENDRECV,
    username: str = "waterline",
    session_name: str = "waterline",
) -> SessionDescription:
    """Build an audio offer for an outbound leg (or a re-offer: pass ``direction=SENDONLY`` to hold).

    ``codecs`` are names with a static payload type (PCMU, PCMA, G722, G729, GSM, G723), in order of
    preference.  ``dtmf_payload_type`` adds telephone-event 0-16 (None leaves it out).  Raise
    ``session_version`` for each new offer in the same session.
    """
    if not codecs:
        raise ValueError("an offer needs at least one codec")
    if not 0 <= local_port <= 65535:
        raise ValueError(f"bad port {local_port}")
    formats: list[str] = []
    rtpmaps: dict[int, Rtpmap] = {}
    for name in codecs:
        pt = _STATIC_BY_NAME.get(name.upper())
        if pt is None:
            raise ValueError(f"no static payload type for codec {name!r}")
        formats.append(str(pt))
        rtpmaps[pt] = Rtpmap(*_STATIC_AUDIO[pt])
    fmtps: dict[int, str] = {}
    if dtmf_payload_type is not None:
        if not 96 <= dtmf_payload_type <= 127:
            raise ValueError("telephone-event needs a dynamic payload type (96-127)")
        formats.append(str(dtmf_payload_type))
        rtpmaps[dtmf_payload_type] = Rtpmap(TELEPHONE_EVENT, 8000)
        fmtps[dtmf_payload_type] = _format_events(set(_SUPPORTED_EVENTS))
    offer = _new_session(
        local_ip=local_ip,
        session_id=session_id,
        session_version=session_version,
        username=username,
        session_name=session_name,
    )
    offer.media.append(
        MediaDescription(
            media="audio",
            port=local_port,
            proto="RTP/AVP",
            formats=formats,
            rtpmaps=rtpmaps,
            fmtps=fmtps,
            ptime=ptime,
            direction=direction,
        )
    )
    return offer


def accept_answer(offer: SessionDescription, answer: SessionDescription) -> Negotiated:
    """Check an answer against the offer we sent and return the negotiated audio stream.

    The answer must have as many m-lines as the offer (RFC 3264 §6).  The codec is the first payload
    type in the answer's audio stream that we offered (matched by encoding name, since the answerer
    should reuse our numbers but need not).  Raises :class:`SdpNegotiationError` if the answer rejects
    every audio stream or picks nothing we offered.
    """
    if len(answer.media) != len(offer.media):
        raise SdpNegotiationError(
            f"answer has {len(answer.media)} media lines, the offer had {len(offer.media)}"
        )
    for index, (ours, theirs) in enumerate(zip(offer.media, answer.media, strict=True)):
        if ours.media != "audio" or ours.port == 0 or theirs.port == 0 or not theirs.is_rtp:
            continue
        offered = [m.encoding.upper() for pt in ours.payload_types if (m := ours.codec(pt)) is not None]
        offered = [name for name in offered if name != TELEPHONE_EVENT.upper()]
        chosen = _choose_codec(theirs, offered)
        if chosen is None:
            continue
        pt, mapping = chosen
        connection = answer.connection_for(theirs)
        assert connection is not None  # parse_sdp guarantees it for active streams
        their_direction = answer.direction_for(theirs)
        our_direction = offer.direction_for(ours).restricted_to(their_direction.reversed())
        return Negotiated(
            codec=mapping.encoding.upper(),
            payload_type=pt,
            clock_rate=mapping.clock_rate,
            dtmf_payload_type=_find_telephone_event(theirs, mapping.clock_rate),
            remote_address=connection.address,
            remote_port=theirs.port,
            direction=our_direction,
            ptime=theirs.ptime if theirs.ptime is not None else ours.ptime,
            on_hold=_is_hold(answer, theirs),
            media_index=index,
        )
    raise SdpNegotiationError("the answer accepts no audio stream we offered")


_UNSPECIFIED = ("0.0.0.0", "::")


@dataclass(slots=True, frozen=True)
class _Template:
    """A serialised answer with holes for the origin's session id/version and the media port."""

    o_prefix: str  # "v=0\r\no=<username> "
    middle: str  # from " IN IP4 <ip>\r\n" of o= up to "m=audio "
    m_suffix: str  # " RTP/AVP 0 101\r\n" and everything after
    negotiated: Negotiated


class AnswerCache:
    """:func:`answer_offer` memoised for offers that differ only in origin, address and port.

    Phones send the same offer on every call except for the ``o=`` line, the ``c=`` address and the
    ``m=`` port; parsing and answering it from scratch costs more than the rest of the call's SIP work.
    An offer with one ``m=`` and one ``c=`` line (unicast, no ``/ttl``, no port count) is reduced to a
    key with those three values blanked out; the first offer of a key is answered by the full
    :func:`parse_sdp` + :func:`answer_offer`, later ones substitute the values into that answer. The
    answer bytes and the :class:`Negotiated` are exactly what the full path gives (the ``o=`` line is
    still validated). Any other offer takes the full path every time. The cache holds at most
    ``max_entries`` keys, the oldest are dropped first.
    """

    def __init__(self, *, local_ip: str, max_entries: int = 256) -> None:
        self.local_ip = local_ip
        self.max_entries = max_entries
        self._templates: dict[str, _Template] = {}
        self.hits = 0
        self.misses = 0

    def answer(
        self, offer: bytes, *, local_port: int, session_id: str, session_version: int
    ) -> tuple[bytes, Negotiated]:
        """Our answer body and the negotiated stream for ``offer``; raises :class:`SdpError` like
        :func:`parse_sdp` / :func:`answer_offer` (with this cache's ``local_ip``, default options)."""
        reduced = _reduce(offer)
        if reduced is not None:
            key, origin, address, port = reduced
            template = self._templates.get(key)
            if template is not None:
                _parse_origin(origin)  # the full path would refuse a malformed o= line
                self.hits += 1
                body = f"{template.o_prefix}{session_id} {session_version}{template.middle}{local_port}" \
                       f"{template.m_suffix}"
                negotiated = template.negotiated
                return body.encode("utf-8"), Negotiated(
                    codec=negotiated.codec, payload_type=negotiated.payload_type,
                    clock_rate=negotiated.clock_rate, dtmf_payload_type=negotiated.dtmf_payload_type,
                    remote_address=address, remote_port=port, direction=negotiated.direction,
                    ptime=negotiated.ptime, on_hold=negotiated.on_hold, media_index=negotiated.media_index,
                )
        self.misses += 1
        answer, negotiated = answer_offer(
            parse_sdp(offer), local_ip=self.local_ip, local_port=local_port, session_id=session_id,
            session_version=session_version,
        )
        text = str(answer)
        if reduced is not None:
            self._remember(reduced[0], text, answer, negotiated, local_port)
        return text.encode("utf-8"), negotiated

    def _remember(self, key: str, text: str, answer: SessionDescription, negotiated: Negotiated,
                  local_port: int) -> None:
        origin = answer.origin
        o_prefix = f"v={answer.version}\r\no={origin.username} "
        o_hole = f"{origin.session_id} {origin.session_version}"
        m_prefix = f"\r\nm=audio {local_port}"
        if not text.startswith(o_prefix + o_hole) or text.count(m_prefix) != 1:
            return  # not the shape the substitution relies on: keep answering in full
        middle_start = len(o_prefix) + len(o_hole)
        m_at = text.index(m_prefix)
        template = _Template(
            o_prefix=o_prefix,
            middle=text[middle_start:m_at] + "\r\nm=audio ",
            m_suffix=text[m_at + len(m_prefix):],
            negotiated=negotiated,
        )
        if len(self._templates) >= self.max_entries:
            del self._templates[next(iter(self._templates))]
        self._templates[key] = template


def _reduce(offer: bytes) -> tuple[str, str, str, int] | None:
    """(key, o= value, c= address, m= port) of a simple offer; None sends it down the full path."""
    try:
        text = offer.decode("utf-8")
    except UnicodeDecodeError:
        return None
    key: list[str] = []
    origin = address = None
    port = -1
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        head = line[:2]
        if head == "o=":
            if origin is not None:
                return None
            origin = line[2:]
            key.append("o=")
        elif head == "c=":
            parts = line[2:].split()
            if address is not None or len(parts) != 3 or "/" in parts[2] or parts[2] in _UNSPECIFIED:
                return None
            address = parts[2]
            key.append(f"c={parts[0]} {parts[1]}")
        elif head == "m=":
            media, _, rest = line[2:].partition(" ")
            port_text, _, rest = rest.partition(" ")
            if port >= 0 or not (port_text.isascii() and port_text.isdigit()):
                return None
            port = int(port_text)
            if not 0 < port <= 65535:
                return None
            key.append(f"m={media} {rest}")
        else:
            key.append(raw)
    if origin is None or address is None or port < 0:
        return None
    return "\n".join(key), origin, address, port
