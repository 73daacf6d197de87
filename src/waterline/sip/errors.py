"""Error types of the SIP stack.

One exception family: the edge turns a ``RemoteProtocolError`` into a response (``status``/``reason``)
or a silent drop; a ``LocalProtocolError`` is a bug in our own code using the API.
"""

from __future__ import annotations


class SipError(Exception):
    """Base class of every error raised by ``waterline.sip``."""


class RemoteProtocolError(SipError):
    """A peer sent malformed or illegal input.

    ``status`` and ``reason`` suggest the response to send back when the input can be answered
    (400 Bad Request by default, 420, 483, 505 ...).
    """

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason
        # the parser attaches the message's Headers when they were readable, so the edge can answer
        self.headers: object | None = None


class LocalProtocolError(SipError):
    """Our own code misused the API (for example serialising an impossible message)."""
