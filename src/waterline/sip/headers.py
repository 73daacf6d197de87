"""SIP header values: the header multimap and parsers for Via, name-addr, CSeq (RFC 3261 §7.3, §20).

Headers keep raw string values; the structured parsers run only when a caller asks, and the message
caches their result in the ``Headers`` object until it next changes.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from waterline.sip.errors import LocalProtocolError, RemoteProtocolError
from waterline.sip.uri import SipUri, check_host, parse_port, parse_uri

T = TypeVar("T")
_MISSING: Any = object()

TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "-.!%*_+`'~")

# RFC 3261 §7.3.3 and later RFCs' compact forms
_COMPACT: dict[str, str] = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}

# names whose capitalisation is not simply "Title-Case-Per-Word"
_IRREGULAR = (
    "Call-ID",
    "CSeq",
    "WWW-Authenticate",
    "MIME-Version",
    "RSeq",
    "RAck",
    "Min-SE",
    "SIP-ETag",
    "SIP-If-Match",
    "P-Asserted-Identity",
    "P-Preferred-Identity",
)

# headers whose grammar is a comma-separated list (§7.3.1); others (Date, WWW-Authenticate ...) are not
LIST_HEADERS = frozenset(
    {
        "Via",
        "Contact",
        "Route",
        "Record-Route",
        "Path",
        "Service-Route",
        "Allow",
        "Allow-Events",
        "Supported",
        "Require",
        "Proxy-Require",
        "Unsupported",
        "Accept",
        "Accept-Encoding",
        "Accept-Language",
        "Content-Encoding",
        "Content-Language",
        "Alert-Info",
        "Call-Info",
        "Error-Info",
        "In-Reply-To",
        "Warning",
        "Reason",
        "P-Asserted-Identity",
        "P-Preferred-Identity",
        "Diversion",
        "History-Info",
    }
)

_CANONICAL_CACHE: dict[str, str] = {}
for _name in _IRREGULAR:
    _CANONICAL_CACHE[_name.lower()] = _name
for _short, _long in _COMPACT.items():
    _CANONICAL_CACHE[_short] = _long
_CACHE_LIMIT = 4096


def canonical_name(name: str) -> str:
    """The canonical spelling of a header name: compact forms expanded, case normalised."""
    cached = _CANONICAL_CACHE.get(name)
    if cached is not None:
        return cached
    lower = name.lower()
    result = _CANONICAL_CACHE.get(lower)
    if result is None:
        result = "-".join(part[:1].upper() + part[1:] for part in lower.split("-"))
    # unbounded growth would let a peer fill memory with invented header names
    if len(_CANONICAL_CACHE) < _CACHE_LIMIT:
        _CANONICAL_CACHE[name] = result
    return result


def split_commas(value: str) -> list[str]:
    """Split a list header value at commas that are outside quoted strings and ``<...>``."""
    if "," not in value:
        stripped = value.strip()
        return [stripped] if stripped else []
    items: list[str] = []
    start = 0
    in_quote = False
    in_angle = False
    i = 0
    n = len(value)
    while i < n:
        ch = value[i]
        if in_quote:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_quote = False
        elif ch == '"':
            in_quote = True
        elif ch == "<":
            in_angle = True
        elif ch == ">":
            in_angle = False
        elif ch == "," and not in_angle:
            item = value[start:i].strip()
            if item:
                items.append(item)
            start = i + 1
        i += 1
    if in_quote:
        raise RemoteProtocolError("Unterminated quoted string")
    item = value[start:].strip()
    if item:
        items.append(item)
    return items


def _split_semicolons(text: str) -> list[str]:
    """Split at ``;`` outside quoted strings (parameter values may be quoted)."""
    if '"' not in text:
        return text.split(";")
    parts: list[str] = []
    start = 0
    in_quote = False
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if in_quote:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_quote = False
        elif ch == '"':
            in_quote = True
        elif ch == ";":
            parts.append(text[start:i])
            start = i + 1
        i += 1
    if in_quote:
        raise RemoteProtocolError("Unterminated quoted string")
    parts.append(text[start:])
    return parts


def parse_params(text: str) -> dict[str, str | None]:
    """Parse ``name[=value]`` items separated by ``;`` (the text after the first ``;``).

    Names are lower-cased; values are kept as written (quoted values keep their quotes).
    """
    params: dict[str, str | None] = {}
    for item in _split_semicolons(text):
        eq = item.find("=")
        if eq < 0:
            name = item.strip()
            value: str | None = None
        else:
            name = item[:eq].strip()
            value = item[eq + 1 :].strip()
            if not value:
                raise RemoteProtocolError("Empty parameter value")
            if value[0] != '"':
                _check_token(value, "parameter value", extra="[]:")
        if not name:
            raise RemoteProtocolError("Empty parameter")
        _check_token(name, "parameter name")
        params[name.lower()] = value
    return params


def _check_token(text: str, what: str, extra: str = "") -> None:
    if not TOKEN_CHARS.issuperset(text) and not (TOKEN_CHARS | frozenset(extra)).issuperset(text):
        raise RemoteProtocolError(f"Invalid character in {what}")


def _format_params(params: dict[str, str | None]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


def quote(text: str) -> str:
    """Render ``text`` as a quoted string, escaping quotes and backslashes."""
    if '"' in text or "\\" in text:
        text = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """Read the quoted string opening at ``text[start]``; return its unescaped text and the index after it."""
    i = start + 1
    n = len(text)
    out: list[str] = []
    while i < n:
        ch = text[i]
        if ch == "\\":
            if i + 1 >= n:
                break
            out.append(text[i + 1])
            i += 2
        elif ch == '"':
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise RemoteProtocolError("Unterminated quoted string")


# ---------------------------------------------------------------- Via


@dataclass(slots=True)
class Via:
    """One Via entry (one hop)."""

    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def branch(self) -> str | None:
        """The branch parameter (transaction id; starts with ``z9hG4bK`` for RFC 3261 peers)."""
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        """The received parameter (source address a server saw)."""
        return self.params.get("received")

    @property
    def rport(self) -> int | bool | None:
        """RFC 3581: None when absent, True when present without value, else the port."""
        if "rport" not in self.params:
            return None
        value = self.params["rport"]
        if value is None:
            return True
        return parse_port(value)

    def __str__(self) -> str:
        port = "" if self.port is None else f":{self.port}"
        return f"SIP/2.0/{self.transport} {self.host}{port}{_format_params(self.params)}"


def parse_via(value: str) -> list[Via]:
    """Parse one Via header value, which may hold several comma-separated entries."""
    vias = [parse_via_entry(item) for item in split_commas(value)]
    if not vias:
        raise RemoteProtocolError("Empty Via header")
    return vias


# "SIP/2.0/UDP host:port" -> (transport, host, port). A peer writes the same sent-by on every request
# (only the branch changes), and this part costs more than half of a Via parse.
_SENT_BY: dict[str, tuple[str, str, int | None]] = {}
_SENT_BY_LIMIT = 4096


def parse_via_entry(text: str) -> Via:
    """Parse one Via entry (a value already split at commas, as ``Headers.get_all`` returns them)."""
    semi = text.find(";")
    head = text if semi < 0 else text[:semi]
    sent = _SENT_BY.get(head)
    if sent is None:
        sent = _parse_sent_by(head)
        if len(_SENT_BY) >= _SENT_BY_LIMIT:
            _SENT_BY.clear()  # bounded: a flood of distinct hosts only costs the parses it would anyway
        _SENT_BY[head] = sent
    transport, host, port = sent
    params = {} if semi < 0 else parse_params(text[semi + 1 :])
    if "rport" in params and params["rport"] is not None:
        parse_port(params["rport"] or "")
    return Via(transport, host, port, params)


def _parse_sent_by(text: str) -> tuple[str, str, int | None]:
    """The sent-protocol and sent-by of a Via entry (everything before its parameters)."""
    first = text.find("/")
    second = text.find("/", first + 1) if first >= 0 else -1
    if second < 0:
        raise RemoteProtocolError("Malformed Via sent-protocol")
    if text[:first].strip().upper() != "SIP" or text[first + 1 : second].strip() != "2.0":
        raise RemoteProtocolError("Malformed Via sent-protocol")
    rest = text[second + 1 :].lstrip()
    i = 0
    n = len(rest)
    while i < n and rest[i] in TOKEN_CHARS:
        i += 1
    transport = rest[:i].upper()
    if not transport:
        raise RemoteProtocolError("Missing Via transport")
    rest = rest[i:]
    if not rest or rest[0] not in " \t":
        raise RemoteProtocolError("Malformed Via")
    host, port = _split_host_port(rest.strip())
    return transport, host, port


def _split_host_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise RemoteProtocolError("Unterminated IPv6 reference")
        host = text[: close + 1]
        tail = text[close + 1 :].strip()
    else:
        colon = text.find(":")
        host = (text if colon < 0 else text[:colon]).strip()
        tail = "" if colon < 0 else text[colon:].strip()
    check_host(host)
    if not tail:
        return host, None
    if tail[0] != ":":
        raise RemoteProtocolError("Malformed host:port")
    return host, parse_port(tail[1:].strip())


# ---------------------------------------------------------------- name-addr


@dataclass(slots=True)
class NameAddr:
    """A From/To/Contact/Route value: optional display name, URI, header parameters."""

    display_name: str | None
    uri: SipUri
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def tag(self) -> str | None:
        """The tag parameter (dialog identifier half), or None."""
        return self.params.get("tag")

    def __str__(self) -> str:
        display = f"{quote(self.display_name)} " if self.display_name else ""
        return f"{display}<{self.uri}>{_format_params(self.params)}"


def parse_name_addr(value: str) -> NameAddr:
    """Parse a name-addr (``"Name" <uri>;params``) or addr-spec (``uri;params``) value."""
    text = value.strip()
    if not text:
        raise RemoteProtocolError("Empty address")
    display: str | None = None
    if text[0] == '"':
        display, i = _read_quoted(text, 0)
        lt = text.find("<", i)
        if lt < 0 or text[i:lt].strip():
            raise RemoteProtocolError("Malformed name-addr")
    else:
        lt = text.find("<")
        if lt >= 0:
            # unquoted display names should be tokens, but carriers send GBK/UTF-8 words: accept them
            display = " ".join(text[:lt].split()) or None
    if lt >= 0:
        gt = text.find(">", lt + 1)
        if gt < 0:
            raise RemoteProtocolError("Unterminated <URI>")
        uri = parse_uri(text[lt + 1 : gt])
        tail = text[gt + 1 :].strip()
    else:
        # addr-spec form: parameters after the URI belong to the header (§20.10)
        semi = text.find(";")
        uri_text = text if semi < 0 else text[:semi]
        if " " in uri_text.strip() or "\t" in uri_text.strip():
            raise RemoteProtocolError("Malformed address")
        uri = parse_uri(uri_text)
        tail = "" if semi < 0 else text[semi:]
    params: dict[str, str | None] = {}
    if tail:
        if tail[0] != ";":
            raise RemoteProtocolError("Junk after address")
        params = parse_params(tail[1:])
    return NameAddr(display, uri, params)


def parse_name_addr_list(value: str) -> list[NameAddr]:
    """Parse a comma-separated list of name-addr values (Contact, Route, Record-Route)."""
    return [parse_name_addr(item) for item in split_commas(value)]


# ---------------------------------------------------------------- CSeq


@dataclass(slots=True, frozen=True)
class CSeq:
    """The CSeq header: sequence number and method."""

    seq: int
    method: str

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"


def parse_cseq(value: str) -> CSeq:
    """Parse ``<number> <method>``; the number must fit in 32 bits (§8.1.1.5)."""
    parts = value.split()
    if len(parts) != 2:
        raise RemoteProtocolError("Malformed CSeq")
    number, method = parts
    if not number.isdigit() or not number.isascii() or len(number) > 10:
        raise RemoteProtocolError("Malformed CSeq")
    seq = int(number)
    if seq >= 2**32:
        raise RemoteProtocolError("CSeq number too large")
    _check_token(method, "CSeq method")
    return CSeq(seq, method)


# ---------------------------------------------------------------- the multimap


class Headers:
    """Ordered, case-insensitive multimap of raw header values under canonical names."""

    __slots__ = ("_items", "parsed", "_first")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = []
        self.parsed: dict[str, Any] = {}
        """What ``cached`` computed, by key, since the last change. Message accessors read it directly:
        a method call per access is measurable on the hot path. Only ``cached`` writes it."""
        # name -> first value, built on the first lookup: a UAS looks up ~10 names per message, and
        # most lookups (Require, Allow, Content-Encoding ...) are for names that are absent
        self._first: dict[str, str] | None = None
        for name, value in items:
            self.add(name, value)

    @classmethod
    def from_canonical(cls, items: list[tuple[str, str]], first: dict[str, str] | None = None) -> Headers:
        """Adopt ``items`` whose names are already canonical and values already checked (parser fast path).

        ``first`` may map each name to its first value when the caller built it while collecting ``items``.
        """
        headers = cls.__new__(cls)
        headers._items = items
        headers.parsed = {}
        headers._first = first
        return headers

    def _index(self) -> dict[str, str]:
        first: dict[str, str] = {}
        for name, value in self._items:
            if name not in first:
                first[name] = value
        self._first = first
        return first

    def _changed(self) -> None:
        self.parsed.clear()
        self._first = None

    def get(self, name: str) -> str | None:
        """The first raw value of ``name`` (a whole header line's value), or None."""
        first = self._first
        if first is None:
            first = self._index()
        value = first.get(name)
        if value is not None:
            return value
        return first.get(canonical_name(name))

    def get_all(self, name: str) -> list[str]:
        """All values of ``name``; list headers (Via, Contact, Route ...) are split at commas."""
        key = canonical_name(name)
        first = self._first
        if first is None:
            first = self._index()
        if key not in first:
            return []
        values = [value for item_name, value in self._items if item_name == key]
        if key in LIST_HEADERS:
            split: list[str] = []
            for value in values:
                split.extend(split_commas(value))
            return split
        return values

    def extend_canonical(self, items: Iterable[tuple[str, str]]) -> None:
        """Append lines whose names are canonical and values already checked (the endpoint's own
        Contact, Allow ...: ``add`` would re-check each one on every response)."""
        self._items.extend(items)
        self._changed()

    def add(self, name: str, value: str) -> None:
        """Append a header line."""
        self._items.append((canonical_name(name), _checked_value(value)))
        self._changed()

    def prepend(self, name: str, value: str) -> None:
        """Insert a header line before every other line (a new top Via, a Record-Route)."""
        self._items.insert(0, (canonical_name(name), _checked_value(value)))
        self._changed()

    def set(self, name: str, value: str) -> None:
        """Replace every line of ``name`` by one line, at the position of the first one."""
        key = canonical_name(name)
        value = _checked_value(value)
        replaced = False
        kept: list[tuple[str, str]] = []
        for item in self._items:
            if item[0] == key:
                if not replaced:
                    kept.append((key, value))
                    replaced = True
            else:
                kept.append(item)
        if not replaced:
            kept.append((key, value))
        self._items = kept
        self._changed()

    def remove(self, name: str) -> None:
        """Remove every line of ``name``."""
        key = canonical_name(name)
        self._items = [item for item in self._items if item[0] != key]
        self._changed()

    def pop_first(self, name: str) -> str | None:
        """Remove and return the first comma-separated value of a list header (top Via, top Route)."""
        key = canonical_name(name)
        for index, (item_name, value) in enumerate(self._items):
            if item_name == key:
                values = split_commas(value) if key in LIST_HEADERS else [value]
                if len(values) <= 1:
                    del self._items[index]
                else:
                    self._items[index] = (key, ", ".join(values[1:]))
                self._changed()
                return values[0] if values else None
        return None

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = canonical_name(name)
        return any(item_name == key for item_name, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"

    def items(self) -> Iterator[tuple[str, str]]:
        """Every header line as (canonical name, raw value), in order."""
        return iter(list(self._items))

    def copy(self) -> Headers:
        """An independent copy (parsed caches are not shared)."""
        return Headers.from_canonical(list(self._items))

    def cached(self, key: str, build: Callable[[], T]) -> T:
        """Return the value ``build()`` computed for ``key`` since the last change, computing it once."""
        # get with a sentinel: a try/except around parsed[key] raised KeyError on every first access
        result = self.parsed.get(key, _MISSING)
        if result is _MISSING:
            result = self.parsed[key] = build()
        return cast(T, result)


def _checked_value(value: str) -> str:
    # a CR or LF inside a value would let it inject header lines when serialised
    if "\r" in value or "\n" in value:
        raise LocalProtocolError("Header value contains a line break")
    return value.strip()
