"""SIP, SIPS and tel URIs (RFC 3261 §19.1, RFC 3966), parsed by hand with character tables.

The user part is stored unescaped (``%2A43`` becomes ``*43``) so routing code compares plain text;
``str()`` escapes it again where the grammar requires. IPv6 hosts keep their brackets (``[::1]``),
exactly as the ``host`` production of the grammar spells them. Parameter names are lower-cased
(they compare case-insensitively); values are kept as written.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

from waterline.sip.errors import RemoteProtocolError

_ALNUM = frozenset(string.ascii_letters + string.digits)
_UNRESERVED = _ALNUM | frozenset("-_.!~*'()")
# characters that may stand unescaped in the user part, the password and parameters (§25.1)
_USER_SAFE = _UNRESERVED | frozenset("&=+$,;?/")
_PASSWORD_SAFE = _UNRESERVED | frozenset("&=+$,")
_PARAM_SAFE = _UNRESERVED | frozenset("[]/:&+$%")
_HEADER_SAFE = _UNRESERVED | frozenset("[]/?:+$%=")
_HOST_CHARS = _ALNUM | frozenset("-._")
_IPV6_CHARS = frozenset(string.hexdigits + ":.")
_TEL_CHARS = _ALNUM | frozenset("+-.()*#%")
_HEX = frozenset(string.hexdigits)
_PERCENT = frozenset("%")
_SCHEME_CHARS = _ALNUM | frozenset("+-.")
_PARAM_SAFE_EQ = _PARAM_SAFE | frozenset("=")


def unescape(text: str) -> str:
    """Decode ``%XX`` escapes; the bytes are read as UTF-8, falling back to GB18030."""
    if "%" not in text:
        return text
    raw = bytearray()
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "%":
            pair = text[i + 1 : i + 3]
            if len(pair) != 2 or pair[0] not in _HEX or pair[1] not in _HEX:
                raise RemoteProtocolError("Invalid escape in URI")
            raw.append(int(pair, 16))
            i += 3
        else:
            raw.extend(ch.encode("utf-8"))
            i += 1
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")


def escape(text: str, safe: frozenset[str]) -> str:
    """Escape every character of ``text`` not in ``safe`` as ``%XX`` of its UTF-8 bytes."""
    if safe.issuperset(text):
        return text
    out: list[str] = []
    for ch in text:
        if ch in safe:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out)


@dataclass(slots=True)
class SipUri:
    """A parsed URI.

    For ``tel:`` URIs the telephone number is in ``user`` and ``host`` is empty.
    """

    scheme: str
    user: str | None
    password: str | None
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        parts: list[str] = [self.scheme, ":"]
        if self.scheme == "tel":
            parts.append(escape(self.user or "", _TEL_CHARS))
        else:
            if self.user is not None:
                parts.append(escape(self.user, _USER_SAFE))
                if self.password is not None:
                    parts.append(":")
                    parts.append(escape(self.password, _PASSWORD_SAFE))
                parts.append("@")
            parts.append(self.host)
            if self.port is not None:
                parts.append(f":{self.port}")
        for name, value in self.params.items():
            parts.append(f";{name}" if value is None else f";{name}={value}")
        if self.headers:
            parts.append("?")
            parts.append("&".join(f"{k}={v}" for k, v in self.headers.items()))
        return "".join(parts)

    @property
    def transport(self) -> str | None:
        """The ``transport`` parameter, lower-cased, or None."""
        value = self.params.get("transport")
        return value.lower() if value else None

    def address_of_record(self) -> str:
        """``scheme:user@host`` with the host lower-cased: the key a registrar files bindings under."""
        if self.scheme == "tel":
            return f"tel:{self.user}"
        if self.user is None:
            return f"{self.scheme}:{self.host.lower()}"
        return f"{self.scheme}:{escape(self.user, _USER_SAFE)}@{self.host.lower()}"


# URI text -> its parse. The same few URIs recur on every call (the Request-URI of the 400 number,
# our own Contact in every in-dialog request, a trunk's From): parsing each once saves ~3 µs a time.
_MEMO: dict[str, SipUri] = {}
_MEMO_LIMIT = 4096


def parse_uri(text: str) -> SipUri:
    """Parse a ``sip:``, ``sips:`` or ``tel:`` URI.

    Raises RemoteProtocolError (416 for an unknown scheme, 400 for bad syntax).
    """
    known = _MEMO.get(text)
    if known is not None:
        # a copy: callers own the result and may change it
        return SipUri(known.scheme, known.user, known.password, known.host, known.port,
                      dict(known.params) if known.params else {},
                      dict(known.headers) if known.headers else {})
    uri = _parse_uri(text)
    if len(_MEMO) >= _MEMO_LIMIT:
        _MEMO.clear()  # bounded: a peer sending ever new URIs only costs the parses it would anyway
    _MEMO[text] = SipUri(uri.scheme, uri.user, uri.password, uri.host, uri.port, dict(uri.params),
                         dict(uri.headers))
    return uri


def _parse_uri(text: str) -> SipUri:
    text = text.strip()
    colon = text.find(":")
    if colon <= 0:
        raise RemoteProtocolError("Malformed URI")
    scheme = text[:colon].lower()
    rest = text[colon + 1 :]
    if scheme == "sip" or scheme == "sips":
        return _parse_sip(scheme, rest)
    if scheme == "tel":
        return _parse_tel(rest)
    if not _SCHEME_CHARS.issuperset(scheme):
        raise RemoteProtocolError("Malformed URI")
    raise RemoteProtocolError("Unsupported URI Scheme", 416)


def _parse_sip(scheme: str, rest: str) -> SipUri:
    user: str | None = None
    password: str | None = None
    at = rest.find("@")
    if at >= 0:
        userinfo = rest[:at]
        rest = rest[at + 1 :]
        if not userinfo:
            raise RemoteProtocolError("Empty user part in URI")
        pw = userinfo.find(":")
        if pw >= 0:
            password = _checked_unescape(userinfo[pw + 1 :], _PASSWORD_SAFE)
            userinfo = userinfo[:pw]
        user = _checked_unescape(userinfo, _USER_SAFE)
    if not rest:
        raise RemoteProtocolError("Missing host in URI")
    if rest[0] == "[":
        close = rest.find("]")
        if close < 0:
            raise RemoteProtocolError("Unterminated IPv6 reference in URI")
        host = rest[: close + 1]
        _check_ipv6(host)
        i = close + 1
    else:
        i = _find_any(rest, ":;?", 0)
        host = rest[:i]
        if not host:
            raise RemoteProtocolError("Missing host in URI")
        if not _HOST_CHARS.issuperset(host):
            raise RemoteProtocolError("Invalid character in URI host")
    rest = rest[i:]
    port: int | None = None
    if rest.startswith(":"):
        end = _find_any(rest, ";?", 1)
        port = parse_port(rest[1:end])
        rest = rest[end:]
    params: dict[str, str | None] = {}
    headers: dict[str, str] = {}
    if rest.startswith(";"):
        end = rest.find("?")
        if end < 0:
            end = len(rest)
        params = _parse_uri_params(rest[1:end])
        rest = rest[end:]
    if rest.startswith("?"):
        headers = _parse_uri_headers(rest[1:])
        rest = ""
    if rest:
        raise RemoteProtocolError("Malformed URI")
    return SipUri(scheme, user, password, host, port, params, headers)


def _parse_tel(rest: str) -> SipUri:
    semi = rest.find(";")
    number = rest if semi < 0 else rest[:semi]
    if not number:
        raise RemoteProtocolError("Empty telephone number in tel URI")
    if not _TEL_CHARS.issuperset(number):
        raise RemoteProtocolError("Invalid character in tel URI")
    params = {} if semi < 0 else _parse_uri_params(rest[semi + 1 :])
    return SipUri("tel", unescape(number), None, "", None, params, {})


def parse_port(text: str) -> int:
    """Parse a port number 0..65535 (digits only)."""
    if not text or not text.isdigit() or not text.isascii() or len(text) > 5:
        raise RemoteProtocolError("Invalid port")
    port = int(text)
    if port > 65535:
        raise RemoteProtocolError("Invalid port")
    return port


def _check_ipv6(host: str) -> None:
    inner = host[1:-1]
    if not inner or ":" not in inner:
        raise RemoteProtocolError("Invalid IPv6 reference")
    if not _IPV6_CHARS.issuperset(inner):
        raise RemoteProtocolError("Invalid IPv6 reference")


def check_host(host: str) -> None:
    """Raise RemoteProtocolError unless ``host`` is a hostname, IPv4 address or bracketed IPv6."""
    if not host:
        raise RemoteProtocolError("Missing host")
    if host[0] == "[":
        if host[-1] != "]":
            raise RemoteProtocolError("Invalid IPv6 reference")
        _check_ipv6(host)
        return
    if not _HOST_CHARS.issuperset(host):
        raise RemoteProtocolError("Invalid character in host")


def _find_any(text: str, chars: str, start: int) -> int:
    """Index of the first of ``chars`` in ``text`` from ``start``, or len(text)."""
    end = len(text)
    for ch in chars:
        index = text.find(ch, start, end)
        if index >= 0:
            end = index
    return end


def _checked_unescape(text: str, safe: frozenset[str]) -> str:
    if not safe.issuperset(text) and not (safe | _PERCENT).issuperset(text):
        raise RemoteProtocolError("Invalid character in URI user part")
    return unescape(text)


def _parse_uri_params(text: str) -> dict[str, str | None]:
    params: dict[str, str | None] = {}
    for item in text.split(";"):
        eq = item.find("=")
        name = item if eq < 0 else item[:eq]
        if not name:
            raise RemoteProtocolError("Empty URI parameter")
        if not _PARAM_SAFE_EQ.issuperset(item):
            raise RemoteProtocolError("Invalid character in URI parameter")
        params[name.lower()] = None if eq < 0 else item[eq + 1 :]
    return params


def _parse_uri_headers(text: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in text.split("&"):
        eq = item.find("=")
        if eq <= 0:
            raise RemoteProtocolError("Malformed URI header")
        if not _HEADER_SAFE.issuperset(item):
            raise RemoteProtocolError("Invalid character in URI header")
        headers[item[:eq]] = item[eq + 1 :]
    return headers
