"""DTMF carried in SIP INFO bodies (the fallback for peers that do not send RFC 4733 events).

Two body formats are in use:

* ``application/dtmf-relay`` (Cisco style)::

      Signal=5
      Duration=160

* ``application/dtmf``: the digit alone, e.g. ``5``.

Both may also give the RFC 4733 event number instead of the character ("10" for ``*``, "11" for
``#``, "12"-"15" for A-D).  Malformed bodies raise :class:`InfoError`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DTMF_CONTENT_TYPES",
    "DtmfDigit",
    "InfoError",
    "parse_dtmf",
    "parse_dtmf_info",
    "parse_dtmf_relay",
]

DTMF_RELAY = "application/dtmf-relay"
DTMF = "application/dtmf"
DTMF_CONTENT_TYPES = frozenset({DTMF_RELAY, DTMF})

# RFC 4733 §3.2 event codes for the sixteen DTMF keys
_EVENTS = "0123456789*#ABCD"
# Longest tone we believe; bodies claiming more are junk (a key held for a minute is not DTMF).
_MAX_DURATION_MS = 60_000
_MAX_BODY = 1024


class InfoError(ValueError):
    """An INFO body is not a DTMF body we understand."""


@dataclass(frozen=True, slots=True)
class DtmfDigit:
    """One key press: ``digit`` is one of 0-9 * # A-D; ``duration_ms`` is None when not given."""

    digit: str
    duration_ms: int | None = None

    @property
    def event(self) -> int:
        """The RFC 4733 event code of the digit (0-15), to merge with RTP telephone-events."""
        return _EVENTS.index(self.digit)


def _digit(text: str) -> str:
    value = text.strip()
    if len(value) == 1 and value.upper() in _EVENTS:
        return value.upper()
    if value.isascii() and value.isdigit() and len(value) <= 2 and int(value) < len(_EVENTS):
        return _EVENTS[int(value)]
    raise InfoError(f"not a DTMF digit: {value[:20]!r}")


def _text(body: bytes | str) -> str:
    if isinstance(body, str):
        text = body
    else:
        if len(body) > _MAX_BODY:
            raise InfoError("DTMF body too long")
        try:
            text = body.decode("ascii")
        except UnicodeDecodeError:
            raise InfoError("DTMF body is not ASCII") from None
    if len(text) > _MAX_BODY:
        raise InfoError("DTMF body too long")
    return text


def parse_dtmf(body: bytes | str) -> DtmfDigit:
    """Parse an ``application/dtmf`` body: a single digit (or event number), surrounding space allowed."""
    text = _text(body).strip()
    if not text:
        raise InfoError("empty DTMF body")
    return DtmfDigit(_digit(text))


def parse_dtmf_relay(body: bytes | str) -> DtmfDigit:
    """Parse an ``application/dtmf-relay`` body (``Signal=`` required, ``Duration=`` in ms optional).

    Keys are case-insensitive, space around ``=`` is allowed, line ends may be CRLF or LF, and other
    keys are ignored.  A missing or repeated Signal, a bad digit, or a bad duration raise
    :class:`InfoError`.
    """
    signal: str | None = None
    duration: int | None = None
    for raw in _text(body).splitlines():
        line = raw.strip()
        if not line:
            continue
        key, eq, value = line.partition("=")
        if not eq:
            raise InfoError(f"expected key=value in DTMF relay body, got {line[:30]!r}")
        name = key.strip().lower()
        if name == "signal":
            if signal is not None:
                raise InfoError("repeated Signal in DTMF relay body")
            signal = _digit(value)
        elif name == "duration":
            if duration is not None:
                raise InfoError("repeated Duration in DTMF relay body")
            text = value.strip()
            if not text.isascii() or not text.isdigit() or int(text) > _MAX_DURATION_MS:
                raise InfoError(f"bad DTMF duration {text[:20]!r}")
            duration = int(text)
    if signal is None:
        raise InfoError("DTMF relay body has no Signal")
    return DtmfDigit(signal, duration)


def parse_dtmf_info(content_type: str | None, body: bytes | str) -> DtmfDigit:
    """Parse an INFO body according to its ``Content-Type`` value (parameters and case ignored).

    Raises :class:`InfoError` for a content type that is not DTMF (the endpoint answers 415) or a
    malformed body (the endpoint answers 400).
    """
    media_type = (content_type or "").partition(";")[0].strip().lower()
    if media_type == DTMF_RELAY:
        return parse_dtmf_relay(body)
    if media_type == DTMF:
        return parse_dtmf(body)
    raise InfoError(f"not a DTMF content type: {content_type!r}")
