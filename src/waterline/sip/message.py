"""SIP requests and responses: parsing, lazy accessors, serialisation, TCP framing (RFC 3261 §7, §18.3).

Parsing splits the header section once and keeps raw values; Via, From, To, CSeq ... are parsed only
when asked and cached in the ``Headers`` object until it changes. Every malformed input raises
``RemoteProtocolError``; when the header section itself was readable the error carries it in
``error.headers`` so the edge can still answer with ``error_response``.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from itertools import islice
from typing import Any

from waterline.sip.errors import LocalProtocolError, RemoteProtocolError
from waterline.sip.headers import (
    TOKEN_CHARS,
    CSeq,
    Headers,
    NameAddr,
    Via,
    canonical_name,
    parse_cseq,
    parse_name_addr,
    parse_via_entry,
)
from waterline.sip.uri import SipUri, parse_uri

REASONS: dict[int, str] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    421: "Extension Required",
    422: "Session Interval Too Small",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    489: "Bad Event",
    491: "Request Pending",
    493: "Undecipherable",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}

_DIGITS = frozenset(string.digits)
_UNSET: Any = object()
"""Marks a cache miss in ``Headers.parsed`` (a cached value may be None, e.g. an absent To tag)."""
_CRLF = b"\r\n"
# raw header name as written (before the colon) -> canonical name, for names already validated
_NAMES: dict[str, str] = {}


class _Accessors:
    """Parsed, cached views of the headers every message carries (shared by Request and Response)."""

    __slots__ = ()
    headers: Headers

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None or not value:
            raise RemoteProtocolError(f"Missing {name} header")
        return value

    @property
    def vias(self) -> list[Via]:
        """Every Via entry, top first."""
        vias: list[Via] = self.headers.parsed.get("vias", _UNSET)
        if vias is _UNSET:
            vias = self.headers.cached("vias", self._build_vias)
        return vias

    def _build_vias(self) -> list[Via]:
        values = self.headers.get_all("Via")
        if not values:
            raise RemoteProtocolError("Missing Via header")
        # get_all has already split the lines at commas
        return [parse_via_entry(value) for value in values]

    @property
    def top_via(self) -> Via:
        """The first Via entry."""
        vias: list[Via] = self.headers.parsed.get("vias", _UNSET)
        if vias is _UNSET:
            vias = self.headers.cached("vias", self._build_vias)
        return vias[0]

    @property
    def from_(self) -> NameAddr:
        """The From header."""
        address: NameAddr = self.headers.parsed.get("from", _UNSET)
        if address is _UNSET:
            address = self.headers.cached("from", self._build_from)
        return address

    def _build_from(self) -> NameAddr:
        return parse_name_addr(self._required("From"))

    @property
    def to(self) -> NameAddr:
        """The To header."""
        address: NameAddr = self.headers.parsed.get("to", _UNSET)
        if address is _UNSET:
            address = self.headers.cached("to", self._build_to)
        return address

    def _build_to(self) -> NameAddr:
        return parse_name_addr(self._required("To"))

    @property
    def to_tag(self) -> str | None:
        """The To tag, read without parsing the URI (raises RemoteProtocolError when To is missing)."""
        tag: str | None = self.headers.parsed.get("to_tag", _UNSET)
        if tag is _UNSET:
            tag = self.headers.cached("to_tag", self._build_to_tag)
        return tag

    def _build_to_tag(self) -> str | None:
        return _header_tag(self, "To")

    @property
    def from_tag(self) -> str | None:
        """The From tag, read without parsing the URI (raises RemoteProtocolError when From is missing)."""
        tag: str | None = self.headers.parsed.get("from_tag", _UNSET)
        if tag is _UNSET:
            tag = self.headers.cached("from_tag", self._build_from_tag)
        return tag

    def _build_from_tag(self) -> str | None:
        return _header_tag(self, "From")

    @property
    def call_id(self) -> str:
        """The Call-ID value."""
        call_id: str = self.headers.parsed.get("call_id", _UNSET)
        if call_id is _UNSET:
            call_id = self.headers.cached("call_id", self._build_call_id)
        return call_id

    def _build_call_id(self) -> str:
        value = self._required("Call-ID")
        if " " in value or "\t" in value:
            raise RemoteProtocolError("Malformed Call-ID")
        return value

    @property
    def cseq(self) -> CSeq:
        """The CSeq header."""
        cseq: CSeq = self.headers.parsed.get("cseq", _UNSET)
        if cseq is _UNSET:
            cseq = self.headers.cached("cseq", self._build_cseq)
        return cseq

    def _build_cseq(self) -> CSeq:
        return parse_cseq(self._required("CSeq"))

    @property
    def contacts(self) -> list[NameAddr]:
        """Contact entries; empty when absent or for the ``*`` wildcard (see ``contact_is_wildcard``)."""
        return self.headers.cached("contacts", self._build_contacts)

    def _build_contacts(self) -> list[NameAddr]:
        values = self.headers.get_all("Contact")
        if values == ["*"]:
            return []
        if "*" in values:
            raise RemoteProtocolError("Wildcard Contact mixed with other contacts")
        return [parse_name_addr(value) for value in values]

    @property
    def contact_is_wildcard(self) -> bool:
        """True when the only Contact is ``*`` (REGISTER removing every binding)."""
        return self.headers.get_all("Contact") == ["*"]

    @property
    def max_forwards(self) -> int | None:
        """Max-Forwards (0..255), None when absent."""
        return self.headers.cached("max_forwards", self._build_max_forwards)

    def _build_max_forwards(self) -> int | None:
        value = self.headers.get("Max-Forwards")
        if value is None:
            return None
        if not value.isdigit() or not value.isascii() or len(value) > 10 or int(value) > 255:
            raise RemoteProtocolError("Invalid Max-Forwards")
        return int(value)

    @property
    def content_type(self) -> str | None:
        """The Content-Type value as written, or None."""
        return self.headers.get("Content-Type")

    @property
    def expires(self) -> int | None:
        """The Expires header in seconds, None when absent."""
        value = self.headers.get("Expires")
        if value is None:
            return None
        if not value.isdigit() or not value.isascii() or len(value) > 10:
            raise RemoteProtocolError("Invalid Expires")
        return int(value)

    def validate(self) -> None:
        """Parse the mandatory headers (Via, From, To, Call-ID, CSeq); raise RemoteProtocolError if bad."""
        _ = self.vias, self.from_, self.to, self.call_id, self.cseq, self.max_forwards, self.contacts


def _header_tag(message: _Accessors, name: str) -> str | None:
    # ACK, BYE and INFO are most of the traffic and need only the tags to find their dialog (measured:
    # 10-15% of the UAS path). Values with a quoted display name, where a ``>`` or ``;`` may hide, take
    # the full name-addr parse.
    value = message.headers.get(name)
    if value is None or '"' in value:
        address = message.from_ if name == "From" else message.to  # raises for a missing header
        return address.tag
    gt = value.rfind(">")
    if gt >= 0:
        params = value[gt + 1 :]
    else:
        semi = value.find(";")  # addr-spec form: parameters after the URI belong to the header (§20.10)
        params = value[semi:] if semi >= 0 else ""
    if "tag" not in params.lower():
        return None
    for item in params.split(";"):
        key, _, tag = item.partition("=")
        if key.strip().lower() == "tag":
            return tag.strip() or None
    return None


def _body_bytes(headers: Headers, body: bytes, start_line: str) -> bytes:
    if headers.get("Content-Length") is None:
        # the usual case (every message we build): Content-Length goes last, one join for everything
        text = "\r\n".join([start_line, *[f"{name}: {value}" for name, value in headers.items()]])
        return f"{text}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    lines = [start_line]
    wrote_length = False
    for name, value in headers.items():
        if name == "Content-Length":
            if not wrote_length:
                lines.append(f"Content-Length: {len(body)}")
                wrote_length = True
            continue
        lines.append(f"{name}: {value}")
    if not wrote_length:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("")
    lines.append("")
    return "\r\n".join(lines).encode("utf-8") + body


@dataclass(slots=True)
class Request(_Accessors):
    """A SIP request."""

    method: str
    uri: SipUri
    headers: Headers
    body: bytes = b""

    def to_bytes(self) -> bytes:
        """Serialise, setting Content-Length from the body."""
        return _body_bytes(self.headers, self.body, f"{self.method} {self.uri} SIP/2.0")

    def validate(self) -> None:
        """Check the mandatory headers and that the CSeq method matches the request method."""
        _Accessors.validate(self)
        if self.cseq.method != self.method:
            raise RemoteProtocolError("CSeq method does not match request method")


@dataclass(slots=True)
class Response(_Accessors):
    """A SIP response."""

    status: int
    reason: str
    headers: Headers
    body: bytes = b""

    def to_bytes(self) -> bytes:
        """Serialise, setting Content-Length from the body."""
        if not 100 <= self.status <= 699:
            raise LocalProtocolError(f"Invalid status code {self.status}")
        return _body_bytes(self.headers, self.body, f"SIP/2.0 {self.status} {self.reason}")


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # Chinese carriers send display names and reason phrases in GBK; GB18030 is its superset
        return raw.decode("gb18030", errors="replace")


def _split_head(data: bytes) -> tuple[list[str], bytes, bool]:
    """Lines of the header section (unfolded), the body, and whether a bare CR occurs."""
    end = data.find(b"\r\n\r\n")
    if end > 0 and data[0] not in _CRLF:
        # the usual message: CRLF line ends only, nothing before the start line (checked by counting,
        # which is cheaper than scanning every value for a stray CR or LF)
        head = _decode(data[:end])
        lines = head.split("\r\n")
        breaks = len(lines) - 1
        if head.count("\n") == breaks and head.count("\r") == breaks:
            if "\n " in head or "\n\t" in head:
                lines = _unfold(lines)
            return lines, data[end + 4 :], False
    return _split_head_general(data)


def _split_head_general(data: bytes) -> tuple[list[str], bytes, bool]:
    start = 0
    n = len(data)
    # RFC 3261 §7.5: CRLFs before the start line are ignored
    while start < n and data[start] in b"\r\n":
        start += 1
    end = data.find(b"\r\n\r\n", start)
    if end >= 0:
        head = _decode(data[start:end])
        body = data[end + 4 :]
    else:
        # tolerate peers that end lines with a bare LF
        end = data.find(b"\n\n", start)
        if end < 0:
            raise RemoteProtocolError("Incomplete message: no end of header section")
        head = _decode(data[start:end])
        body = data[end + 2 :]
    if not head:
        raise RemoteProtocolError("Empty message")
    crlf = head.count("\r\n")
    if head.count("\n") != crlf:
        head = head.replace("\r\n", "\n")
        lines = head.split("\n")
        crlf = 0
    else:
        lines = head.split("\r\n")
    if "\n " in head or "\n\t" in head:
        lines = _unfold(lines)
    # counting is cheaper than scanning every value for the rare stray CR
    return lines, body, head.count("\r") != crlf


def _unfold(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t") and out:
            out[-1] = out[-1].rstrip(" \t") + " " + line.strip(" \t")
        else:
            out.append(line)
    return out


def _parse_header_lines(lines: list[str], bare_cr: bool) -> tuple[Headers, RemoteProtocolError | None]:
    items: list[tuple[str, str]] = []
    error: RemoteProtocolError | None = None
    names = _NAMES
    for line in islice(lines, 1, None):
        # partition is one C call where find + two slices were three; names already seen skip validation
        name, colon, value = line.partition(":")
        canonical = names.get(name)
        if canonical is None or not colon:
            if not colon or not name:
                error = error or RemoteProtocolError("Malformed header line")
                continue
            name = name.rstrip(" \t")
            if not name or not TOKEN_CHARS.issuperset(name):
                error = error or RemoteProtocolError("Invalid header name")
                continue
            canonical = canonical_name(name)
            # bounded: a peer inventing names must not grow it without end
            if len(names) < 2048:
                names[line[: line.index(":")]] = canonical
        value = value.strip(" \t")
        if bare_cr and "\r" in value:
            error = error or RemoteProtocolError("Control character in header value")
            continue
        items.append((canonical, value))
    # inserted last to first, so each name keeps its first value: the dict is built in C
    return Headers.from_canonical(items, dict(reversed(items))), error


def parse_message(data: bytes) -> Request | Response:
    """Parse one whole message (a UDP datagram or a message cut out by StreamFramer).

    A Content-Length larger than the data is an error; a smaller one truncates the body; without
    Content-Length the body is the rest of the data. Raises RemoteProtocolError for malformed input.
    """
    lines, body, bare_cr = _split_head(data)
    start_line = lines[0]
    headers, error = _parse_header_lines(lines, bare_cr)
    if bare_cr and "\r" in start_line:
        error = error or RemoteProtocolError("Control character in start line")
    try:
        if error is not None:
            raise error
        length_value = headers.get("Content-Length")
        if length_value is not None:
            if not length_value.isdigit() or not length_value.isascii() or len(length_value) > 9:
                raise RemoteProtocolError("Invalid Content-Length")
            length = int(length_value)
            if length > len(body):
                raise RemoteProtocolError("Content-Length larger than the message")
            if length < len(body):
                body = body[:length]
        if start_line.startswith("SIP/"):
            return _parse_status_line(start_line, headers, body)
        return _parse_request_line(start_line, headers, body)
    except RemoteProtocolError as exc:
        exc.headers = headers
        raise


def _parse_status_line(line: str, headers: Headers, body: bytes) -> Response:
    parts = line.split(" ", 2)
    if len(parts) < 2:
        raise RemoteProtocolError("Malformed status line")
    if parts[0] != "SIP/2.0":
        raise RemoteProtocolError("Version Not Supported", 505)
    code = parts[1]
    if len(code) != 3 or code[0] not in "123456" or code[1] not in _DIGITS or code[2] not in _DIGITS:
        raise RemoteProtocolError("Malformed status code")
    reason = parts[2].strip() if len(parts) == 3 else ""
    return Response(int(code), reason, headers, body)


def _parse_request_line(line: str, headers: Headers, body: bytes) -> Request:
    parts = line.split(" ")
    if len(parts) != 3:
        raise RemoteProtocolError("Malformed request line")
    method, uri_text, version = parts
    if not method:
        raise RemoteProtocolError("Malformed request line")
    if not TOKEN_CHARS.issuperset(method):
        raise RemoteProtocolError("Invalid method")
    if version.upper() != "SIP/2.0":
        raise RemoteProtocolError("Version Not Supported", 505)
    return Request(method, parse_uri(uri_text), headers, body)


_COPIED = ("Via", "From", "To", "Call-ID", "CSeq")


def _response_headers(source: Headers, status: int, add_tag: str | None) -> Headers:
    """The headers a response copies from its request (§8.2.6.2), with ``add_tag`` appended to To."""
    items: list[tuple[str, str]] = []
    first: dict[str, str] = {}
    for name, value in source.items():
        if name in _COPIED or (name == "Timestamp" and status == 100):
            if name == "To" and add_tag is not None:
                # appending keeps the peer's spelling; valid for name-addr and addr-spec forms (§20.10)
                value = f"{value};tag={add_tag}"
            items.append((name, value))
            if name not in first:
                first[name] = value
    return Headers.from_canonical(items, first)


def _needs_tag(request: Request) -> bool:
    try:
        return request.to_tag is None
    except RemoteProtocolError:
        return True  # an unreadable To: tagging it is the best a response can do


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    body: bytes = b"",
    content_type: str | None = None,
) -> Response:
    """Build a response to ``request`` copying Via, From, To, Call-ID and CSeq (§8.2.6).

    ``to_tag`` is added to To unless it already has a tag (never on 100 Trying).
    """
    if not 100 <= status <= 699:
        raise LocalProtocolError(f"Invalid status code {status}")
    add_tag = to_tag if to_tag is not None and status != 100 and _needs_tag(request) else None
    headers = _response_headers(request.headers, status, add_tag)
    if content_type is not None:
        headers.add("Content-Type", content_type)
    return Response(status, reason if reason is not None else REASONS.get(status, ""), headers, body)


def error_response(error: RemoteProtocolError) -> Response | None:
    """The response answering a request that failed to parse, or None when it cannot be answered.

    Needs the headers the parser attached and a Via, From, To, Call-ID and CSeq among them; the
    status and reason come from the error. Responses to a failed response are never built.
    """
    headers = error.headers
    if not isinstance(headers, Headers):
        return None
    for name in _COPIED:
        if not headers.get(name):
            return None
    try:
        if parse_cseq(headers.get("CSeq") or "").method == "ACK":
            return None  # never answer an ACK
    except RemoteProtocolError:
        pass
    return Response(error.status, error.reason, _response_headers(headers, error.status, None))


class StreamFramer:
    """Cuts a TCP byte stream into whole messages by Content-Length (§18.3).

    CRLF keepalives between messages are skipped and counted in ``keepalives`` (a double CRLF ping
    of RFC 5626 deserves a single CRLF pong). After a RemoteProtocolError the stream cannot be
    resynchronised: close the connection.
    """

    def __init__(self, max_size: int = 65535) -> None:
        self.max_size = max_size
        self.keepalives = 0
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every message now complete, in order."""
        buffer = self._buffer
        buffer += data
        messages: list[bytes] = []
        while buffer:
            skipped = 0
            while skipped < len(buffer) and buffer[skipped] in b"\r\n":
                skipped += 1
            if skipped:
                if skipped >= 4:
                    self.keepalives += 1
                del buffer[:skipped]
                if not buffer:
                    break
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > self.max_size:
                    raise RemoteProtocolError("Message Too Large", 513)
                break
            length = _stream_content_length(bytes(buffer[:end]))
            total = end + 4 + length
            if total > self.max_size:
                raise RemoteProtocolError("Message Too Large", 513)
            if len(buffer) < total:
                break
            messages.append(bytes(buffer[:total]))
            del buffer[:total]
        return messages

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete message."""
        return len(self._buffer)


def _stream_content_length(head: bytes) -> int:
    value: bytes | None = None
    for line in head.split(b"\n"):
        colon = line.find(b":")
        if colon <= 0:
            continue
        name = line[:colon].strip().lower()
        if name == b"content-length" or name == b"l":
            value = line[colon + 1 :].strip()
            break
    if value is None:
        raise RemoteProtocolError("Missing Content-Length on a stream transport")
    if not value.isdigit() or len(value) > 9:
        raise RemoteProtocolError("Invalid Content-Length")
    return int(value)

