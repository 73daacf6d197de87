"""What the SIP endpoint tells the call-control layer (events) and what it accepts back (commands).

Events are past tense, commands imperative; both are frozen dataclasses so they can be queued, logged and
compared in tests. A call leg is named by ``call``: an opaque string the endpoint hands out (our own dialog
tag), unique even when both legs of a loopback call share one Call-ID.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Address = tuple[str, int]


# ---------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """A new INVITE passed policy; answer it with :class:`Answer`, :class:`Ring` or :class:`Reject`."""

    call: str
    call_id: str
    from_uri: str
    from_display: str | None
    to_uri: str
    request_user: str | None  # the Request-URI user part, unescaped (``*43``)
    sdp_offer: bytes | None
    source: Address
    transport: str
    authenticated_user: str | None = None  # set when the caller passed digest authentication
    # raw P-Asserted-Identity (RFC 3325): carriers put the network-verified caller number here
    asserted_identity: str | None = None


@dataclass(frozen=True, slots=True)
class CallRinging:
    """An outgoing call got a provisional response (180/183), with early SDP if any."""

    call: str
    status: int
    sdp: bytes | None


@dataclass(frozen=True, slots=True)
class CallAnswered:
    """An outgoing call got a 2xx; the endpoint has already sent the ACK."""

    call: str
    sdp_answer: bytes | None


@dataclass(frozen=True, slots=True)
class CallConfirmed:
    """An incoming call we answered got its ACK: the dialog is confirmed end to end."""

    call: str
    sdp: bytes | None  # a late-offer answer in the ACK, if any


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The leg is over, for whatever ``reason`` ("remote-bye", "cancelled", "rejected", "timeout" ...)."""

    call: str
    reason: str
    status: int | None = None  # the final SIP status when the call failed or was refused


@dataclass(frozen=True, slots=True)
class Reinvited:
    """The peer sent a new offer in the dialog (re-INVITE or UPDATE); answer it with :class:`Answer`."""

    call: str
    sdp_offer: bytes
    on_hold: bool


@dataclass(frozen=True, slots=True)
class ReinviteAnswered:
    """Our own re-INVITE (hold, unhold, codec change, refresh) was accepted or refused."""

    call: str
    status: int
    sdp_answer: bytes | None


@dataclass(frozen=True, slots=True)
class DtmfReceived:
    """A digit arrived in a SIP INFO (application/dtmf-relay or application/dtmf)."""

    call: str
    digit: str
    duration_ms: int | None


@dataclass(frozen=True, slots=True)
class Registered:
    """A REGISTER was accepted for ``aor`` (contacts now bound, with their expiry in seconds)."""

    aor: str
    contacts: tuple[str, ...]
    expires: int
    source: Address
    transport: str


@dataclass(frozen=True, slots=True)
class Unregistered:
    """Every binding of ``aor`` was removed (expires=0 or ``*``)."""

    aor: str
    source: Address


@dataclass(frozen=True, slots=True)
class RequestRefused:
    """A request was answered with an error by the endpoint itself (policy, malformed, unsupported)."""

    method: str
    status: int
    reason: str
    source: Address
    transport: str


@dataclass(frozen=True, slots=True)
class RequestFailed:
    """A request we sent outside a call (OPTIONS, INFO, MESSAGE ...) got a final response or timed out."""

    call: str | None
    method: str
    status: int  # 408 on timeout, 503 on transport error


@dataclass(frozen=True, slots=True)
class ReferReceived:
    """The peer asked us to transfer the call (REFER in the dialog, RFC 3515); answer with
    :class:`AcceptRefer` (202, then report progress with :class:`NotifyRefer`) or :class:`RejectRefer`."""

    call: str
    refer_to: str  # the Refer-To URI
    refer_user: str | None  # its user part, unescaped (``kefu2``, a queue name)
    referred_by: str | None  # the raw Referred-By value (RFC 3892), if any


Event = (
    IncomingCall
    | CallRinging
    | CallAnswered
    | CallConfirmed
    | CallEnded
    | Reinvited
    | ReinviteAnswered
    | DtmfReceived
    | Registered
    | Unregistered
    | RequestRefused
    | RequestFailed
    | ReferReceived
)


# ---------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class Ring:
    """Send a provisional response (180 Ringing, or 183 with early media SDP)."""

    call: str
    status: int = 180
    sdp: bytes | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """Answer an incoming call (200 OK) or a pending re-INVITE/UPDATE offer with ``sdp``."""

    call: str
    sdp: bytes | None


@dataclass(frozen=True, slots=True)
class Reject:
    """Refuse an incoming call or a pending re-offer with a 3xx-6xx status."""

    call: str
    status: int = 486
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Hangup:
    """End a leg: CANCEL, BYE or a final error response, whichever its state needs."""

    call: str


@dataclass(frozen=True, slots=True)
class Reinvite:
    """Send a re-INVITE with a new offer (hold: direction sendonly; unhold: sendrecv; new codec)."""

    call: str
    sdp: bytes


@dataclass(frozen=True, slots=True)
class SendInfo:
    """Send an INFO in the call's dialog (DTMF relay)."""

    call: str
    body: bytes
    content_type: str = "application/dtmf-relay"


@dataclass(frozen=True, slots=True)
class Dial:
    """Place an outgoing call; the endpoint answers with the new leg's id from ``Endpoint.send``."""

    target: str  # request URI, e.g. "sip:13800000000@10.0.0.1:5060"
    from_uri: str
    dest: Address
    sdp: bytes | None
    transport: str = "udp"
    from_display: str | None = None
    headers: tuple[tuple[str, str], ...] = field(default=())
    # (user, password) answering one digest challenge of the trunk; kept out of repr so logs never show it
    credentials: tuple[str, str] | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class AcceptRefer:
    """Accept the leg's pending REFER: 202 Accepted, then the first NOTIFY (``SIP/2.0 100 Trying``)."""

    call: str


@dataclass(frozen=True, slots=True)
class RejectRefer:
    """Refuse the leg's pending REFER with a 4xx-6xx status (403, 404 ...)."""

    call: str
    status: int = 403
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class NotifyRefer:
    """Report an accepted REFER's progress in a NOTIFY (``message/sipfrag``): ``status`` 1xx keeps the
    implicit subscription active, a final one (200, 404 ...) terminates it."""

    call: str
    status: int
    reason: str | None = None


Command = (
    Ring | Answer | Reject | Hangup | Reinvite | SendInfo | Dial | AcceptRefer | RejectRefer | NotifyRefer
)
