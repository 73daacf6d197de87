"""The sans-IO SIP user agent core: transactions, dialogs and calls behind one small API.

Drivers feed it datagrams (or whole TCP messages cut by ``StreamFramer``) with ``receive_datagram``, send
what ``datagrams_to_send`` returns, and wake it at ``get_timer()`` with ``handle_timer``. Call control
reads events with ``next_event`` and acts with ``send(command)`` (or the matching methods ``answer``,
``reject``, ``hangup`` ...). Nothing here does I/O or reads a clock: ``now`` is always an argument and
tags, branches and Call-IDs come from the injected ``random.Random``.

Contract towards call control: every leg announced by :class:`IncomingCall` or created by :meth:`dial`
gets exactly one :class:`CallEnded`, whoever ended it.
"""

from __future__ import annotations

import enum
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from waterline.sip import events as ev
from waterline.sip.auth import AuthError, answer_challenge, choose_challenge, make_cnonce
from waterline.sip.dialog import Dialog, DialogState, SessionTimer, uac_session_timer, uas_session_timer
from waterline.sip.errors import LocalProtocolError, RemoteProtocolError
from waterline.sip.headers import Headers, Via, parse_name_addr, quote
from waterline.sip.info import InfoError, parse_dtmf_info
from waterline.sip.message import REASONS, Request, Response, error_response, make_response, parse_message
from waterline.sip.policy import AuthDecision, EdgePolicy, Verdict
from waterline.sip.registrar import Registrar
from waterline.sip.sdp import SdpError, is_on_hold, parse_sdp
from waterline.sip.transaction import (
    MAGIC_COOKIE,
    ClientTransaction,
    Kind,
    ServerTransaction,
    State,
    TimerConfig,
    TimerHeap,
    Transaction,
    TransactionKey,
    cancelled_key,
    is_reliable,
    response_key,
    server_key,
)
from waterline.sip.uri import SipUri, parse_uri

Address = tuple[str, int]
Outgoing = tuple[bytes, Address, str]

# methods we implement; others we recognise get 405 with Allow, unknown ones 501 (§8.2.1)
IMPLEMENTED = frozenset({"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "INFO", "UPDATE", "REGISTER", "REFER"})
KNOWN_NOT_ALLOWED = frozenset({"SUBSCRIBE", "NOTIFY", "PUBLISH", "MESSAGE", "PRACK"})
SUPPORTED_OPTIONS = frozenset({"timer"})
SDP = "application/sdp"
INFO_TYPES = frozenset({"application/dtmf-relay", "application/dtmf"})


class Authenticator(Protocol):
    """Digest authentication as the endpoint needs it (``policy.DigestAuthenticator`` implements it)."""

    def check(self, request: Request, now: float) -> AuthDecision:
        """Authenticate ``request`` or say which challenge (or 403) to answer."""


@dataclass(slots=True)
class EndpointConfig:
    """Addresses and knobs of one endpoint (one SIP port, UDP and TCP)."""

    host: str = "127.0.0.1"
    port: int = 5060
    user_agent: str = "Waterline"
    timers: TimerConfig = field(default_factory=TimerConfig)
    max_message_size: int = 65535
    send_trying: bool = True  # 100 Trying unless call control answers before the output is drained
    max_ring_time: float = 300.0  # an incoming call nobody answers or rejects gets 480 after this
    session_expires: int | None = 1800  # offered/granted session interval (RFC 4028), None: no timers
    min_se: int = 90
    policy: EdgePolicy = field(default_factory=EdgePolicy)


@dataclass(slots=True)
class EndpointStats:
    """Counters for monitoring; read them, never reset them from outside."""

    received: int = 0
    garbage_dropped: int = 0
    bad_requests: int = 0
    oversize: int = 0
    retransmissions_absorbed: int = 0
    stray_responses: int = 0
    stray_acks: int = 0
    refused: int = 0
    calls_in: int = 0
    calls_out: int = 0
    keepalives: int = 0
    internal_errors: int = 0  # bugs caught at the edge: should stay 0, alert if not


class LegState(enum.Enum):
    """Where one call leg stands (from the endpoint's point of view)."""

    INCOMING = "incoming"  # INVITE received, no final response yet
    OUTGOING = "outgoing"  # INVITE sent, no final response yet
    ANSWERED = "answered"  # 2xx sent, waiting for the ACK
    ESTABLISHED = "established"
    ENDED = "ended"

    __hash__ = object.__hash__  # identity hash: Enum's is Python code (see transaction.Kind)


class Leg:
    """One call leg: its dialog, its INVITE transaction and the timers the TU owns (§13.3.1.4, RFC 4028)."""

    __slots__ = (
        "call",
        "endpoint",
        "state",
        "is_uas",
        "invite",
        "invite_tx",
        "dialog",
        "peer",
        "transport",
        "provisional_seen",
        "cancel_pending",
        "bye_after_ack",
        "ok_bytes",
        "ok_cseq",
        "ok_interval",
        "retransmit_at",
        "give_up_at",
        "ack_bytes",
        "ack_cseq",
        "credentials",
        "auth_tried",
        "offer_tx",
        "reinvite_tx",
        "local_sdp",
        "remote_sdp",
        "remote_allow",
        "session",
        "session_at",
        "session_headers",
        "cancel_tx",
        "refer_tx",
        "refer_id",
        "refer_active",
        "_deadline",
        "__weakref__",
    )

    def __init__(self, endpoint: Endpoint, call: str, *, is_uas: bool, invite: Request, peer: Address,
                 transport: str) -> None:
        self.call = call
        self.endpoint = endpoint
        self.state = LegState.INCOMING if is_uas else LegState.OUTGOING
        self.is_uas = is_uas
        self.invite = invite
        self.invite_tx: Transaction | None = None
        self.dialog: Dialog | None = None
        self.peer = peer
        self.transport = transport
        self.provisional_seen = False
        self.cancel_pending = False
        self.bye_after_ack = False
        self.ok_bytes: bytes | None = None
        self.ok_cseq = 0
        self.ok_interval = 0.0
        self.retransmit_at: float | None = None
        self.give_up_at: float | None = None
        self.ack_bytes: bytes | None = None
        self.ack_cseq = 0
        self.credentials: tuple[str, str] | None = None  # (user, password) for a challenged INVITE
        self.auth_tried = False
        self.offer_tx: ServerTransaction | None = None
        self.reinvite_tx: ClientTransaction | None = None
        self.local_sdp: bytes | None = None
        self.remote_sdp: bytes | None = (invite.body or None) if is_uas else None
        self.remote_allow: frozenset[str] = frozenset()
        self.session: SessionTimer | None = None
        self.session_at: float | None = None
        self.session_headers: tuple[tuple[str, str], ...] = ()
        self.cancel_tx: ClientTransaction | None = None
        self.refer_tx: ServerTransaction | None = None  # a REFER waiting for call control's answer
        self.refer_id = 0  # the CSeq of the accepted REFER: its subscription's ``Event: refer;id=``
        self.refer_active = False  # the implicit subscription awaits its final NOTIFY
        self._deadline: float | None = None

    @property
    def deadline(self) -> float | None:
        """The earliest of the leg's own timers."""
        return self._deadline

    def handle_timer(self, now: float) -> None:
        """Fire due leg timers (2xx retransmission, ACK give-up, session refresh/expiry)."""
        self.endpoint._leg_timer(self, now)

    def update_deadline(self) -> None:
        """Recompute the deadline after a timer changed; tells the endpoint's heap."""
        candidates = [t for t in (self.retransmit_at, self.give_up_at, self.session_at) if t is not None]
        deadline = min(candidates) if candidates else None
        if deadline != self._deadline:
            self._deadline = deadline
            if deadline is not None:
                self.endpoint._timers.schedule(self)


def _response_dest(via: Via, source: Address, transport: str) -> Address:
    # §18.2.2 with RFC 3581: reliable transports answer on the connection, rport on the source port,
    # otherwise the source IP (that is what received= says) and the sent-by port.
    if is_reliable(transport) or via.rport is not None:
        return source
    return (source[0], via.port or 5060)


def _reply(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    tag: str | None = None,
    body: bytes = b"",
    content_type: str | None = None,
) -> Response:
    """``make_response`` with our To tag added unless To has one (read from the cached To tag)."""
    return make_response(request, status, reason, to_tag=tag, body=body, content_type=content_type)


def _tag(message: Request, name: str) -> str | None:
    """The tag of the From or To header, read without parsing the URI (cached on the message)."""
    return message.to_tag if name == "To" else message.from_tag


def _uri_address(uri: SipUri) -> Address:
    return (uri.host.strip("[]"), uri.port or (5061 if uri.scheme == "sips" else 5060))


class Endpoint:
    """A SIP user agent (UAS and UAC) without I/O. See the module docstring for the driving loop."""

    def __init__(
        self,
        config: EndpointConfig | None = None,
        *,
        rng: random.Random | None = None,
        authenticator: Authenticator | None = None,
        registrar: Registrar | None = None,
    ) -> None:
        self.config = config or EndpointConfig()
        self.rng = rng or random.Random()
        self.authenticator = authenticator
        self.registrar = registrar
        self.stats = EndpointStats()
        self._out: list[Outgoing] = []
        self._trying: list[ServerTransaction] = []
        self._events: deque[ev.Event] = deque()
        self._server_txs: dict[TransactionKey, ServerTransaction] = {}
        self._client_txs: dict[TransactionKey, ClientTransaction] = {}
        self._legs: dict[str, Leg] = {}
        self._dialogs: dict[tuple[str, str, str], Leg] = {}
        self._pending_invites: dict[tuple[str, str, int], TransactionKey] = {}
        # transactions per TCP connection, so a lost connection fails them without scanning everything
        self._on_connection: dict[tuple[Address, str], dict[Transaction, None]] = {}
        self._timers = TimerHeap()
        self._trunk_cache: dict[str, bool] = {}
        methods = sorted(IMPLEMENTED if registrar is not None else IMPLEMENTED - {"REGISTER"})
        self._allow = ", ".join(methods)
        host = self.config.host
        # an IPv6 literal needs brackets in Via and Contact (§25.1 IPv6reference)
        host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        self._hostport = f"{host}:{self.config.port}"
        self._allowed = frozenset(methods)

    # ------------------------------------------------------------------ the driver API

    def receive_datagram(self, data: bytes, addr: Address, now: float, transport: str = "udp") -> None:
        """Feed one datagram (or one framed TCP message) that arrived from ``addr``."""
        self.stats.received += 1
        if not data.strip(b"\r\n"):
            self.stats.keepalives += 1  # RFC 5626 CRLF keepalive
            return
        oversize = len(data) > self.config.max_message_size
        try:
            message = parse_message(data)
        except RemoteProtocolError as exc:
            self._answer_unparseable(exc, addr, transport)
            return
        except Exception:  # noqa: BLE001 - a parser bug must not take the endpoint down
            self.stats.garbage_dropped += 1
            return
        try:
            if isinstance(message, Response):
                self._handle_response(message, now)
            elif oversize:
                self.stats.oversize += 1
                self._reply_stateless(message, addr, transport, 513)
            else:
                self._handle_request(message, addr, transport, now)
        except RemoteProtocolError as exc:
            if isinstance(message, Request):
                self._reply_error(message, addr, transport, exc.status, exc.reason, now)
            else:
                self.stats.garbage_dropped += 1
        except Exception:  # noqa: BLE001 - one bad message must never stop the endpoint serving others
            self.stats.internal_errors += 1
            if isinstance(message, Request):
                self._reply_error(message, addr, transport, 500, None, now)

    def datagrams_to_send(self, now: float) -> list[Outgoing]:
        """Everything queued for transmission: (data, destination address, transport)."""
        if self._trying:
            for tx in self._trying:
                if tx.last_status is None and tx.state is State.PROCEEDING:
                    tx.respond(make_response(tx.request, 100), now)
            self._trying.clear()
        out = self._out
        self._out = []
        return out

    def get_timer(self) -> float | None:
        """When ``handle_timer`` should be called next, or None."""
        return self._timers.earliest()

    def handle_timer(self, now: float) -> None:
        """Fire every timer due at ``now``."""
        for obj in self._timers.pop_due(now):
            try:
                obj.handle_timer(now)
            except Exception:  # noqa: BLE001 - a bug in one call's timer must not stop the others
                self.stats.internal_errors += 1

    def next_event(self) -> ev.Event | None:
        """The next event for call control, or None."""
        return self._events.popleft() if self._events else None

    def connection_lost(self, addr: Address, now: float, transport: str = "tcp") -> None:
        """A TCP connection to ``addr`` closed (or a send to it failed): fail its transactions (§18.4)."""
        if is_reliable(transport):
            txs = list(self._on_connection.pop((addr, transport), {}))
        else:
            # datagram transports are not indexed (the common case must stay cheap): scan
            everything: list[Transaction] = [*self._server_txs.values(), *self._client_txs.values()]
            txs = [tx for tx in everything if tx.dest == addr and tx.transport == transport]
        for tx in txs:
            tx.transport_error(now)

    # ------------------------------------------------------------------ commands

    def send(self, command: ev.Command, now: float) -> str | None:
        """Carry out a command; returns the new leg id for :class:`Dial`, else None.

        Commands for a leg that has ended meanwhile (a CANCEL or BYE crossed them) are ignored.
        """
        if isinstance(command, ev.Dial):
            return self.dial(
                command.target, command.from_uri, command.dest, command.sdp, now,
                transport=command.transport, from_display=command.from_display, headers=command.headers,
                credentials=command.credentials,
            )
        if isinstance(command, ev.Answer):
            self.answer(command.call, command.sdp, now)
        elif isinstance(command, ev.Ring):
            self.ring(command.call, now, status=command.status, sdp=command.sdp)
        elif isinstance(command, ev.Reject):
            self.reject(command.call, now, status=command.status, reason=command.reason)
        elif isinstance(command, ev.Hangup):
            self.hangup(command.call, now)
        elif isinstance(command, ev.Reinvite):
            self.reinvite(command.call, command.sdp, now)
        elif isinstance(command, ev.SendInfo):
            self.send_info(command.call, command.body, now, content_type=command.content_type)
        elif isinstance(command, ev.AcceptRefer):
            self.accept_refer(command.call, now)
        elif isinstance(command, ev.RejectRefer):
            self.reject_refer(command.call, now, status=command.status, reason=command.reason)
        elif isinstance(command, ev.NotifyRefer):
            self.notify_refer(command.call, command.status, now, reason=command.reason)
        return None

    def ring(self, call: str, now: float, *, status: int = 180, sdp: bytes | None = None) -> bool:
        """Send a provisional response to an incoming call; False if it is no longer ringing."""
        if not 101 <= status <= 199:
            raise LocalProtocolError("ring needs a 101-199 status")
        leg = self._legs.get(call)
        if leg is None or leg.state is not LegState.INCOMING:
            return False
        if not isinstance(leg.invite_tx, ServerTransaction):
            return False
        response = _reply(leg.invite, status, tag=leg.call, body=sdp or b"",
                          content_type=SDP if sdp else None)
        self._add_contact(response, leg.transport)
        leg.invite_tx.respond(response, now)
        return True

    def answer(self, call: str, sdp: bytes | None, now: float) -> bool:
        """Answer an incoming call with 200 OK, or a pending re-INVITE/UPDATE offer.

        False when there is nothing to answer (the caller cancelled meanwhile, or it was answered).
        """
        leg = self._legs.get(call)
        if leg is None:
            return False
        if leg.offer_tx is not None:
            self._answer_offer(leg, sdp, now)
            return True
        tx = leg.invite_tx
        if leg.state is not LegState.INCOMING or not isinstance(tx, ServerTransaction):
            return False
        response = self._ok_for_invite(leg, leg.invite, sdp)
        tx.respond(response, now)
        leg.local_sdp = sdp
        leg.state = LegState.ANSWERED
        assert leg.dialog is not None
        leg.dialog.confirm()
        self._start_ok_retransmission(leg, tx, now)
        self._start_session_timer(leg, now)
        return True

    def reject(self, call: str, now: float, *, status: int = 486, reason: str | None = None) -> bool:
        """Refuse an incoming call (or a pending re-offer) with a final error status; False if too late."""
        if not 300 <= status <= 699:
            raise LocalProtocolError("reject needs a 3xx-6xx status")
        leg = self._legs.get(call)
        if leg is None:
            return False
        if leg.offer_tx is not None:
            tx = leg.offer_tx
            leg.offer_tx = None
            tx.respond(_reply(tx.request, status, reason, tag=leg.call), now)
            return True
        invite_tx = leg.invite_tx
        if leg.state is not LegState.INCOMING or not isinstance(invite_tx, ServerTransaction):
            return False
        invite_tx.respond(_reply(leg.invite, status, reason, tag=leg.call), now)
        self._end(leg, "rejected", status)
        return True

    def hangup(self, call: str, now: float) -> bool:
        """End a leg in whatever way its state needs (error response, CANCEL or BYE); False if gone."""
        leg = self._legs.get(call)
        if leg is None or leg.state is LegState.ENDED:
            return False
        if leg.state is LegState.INCOMING:
            self.reject(call, now, status=480)
        elif leg.state is LegState.ANSWERED:
            # §15: the callee must not send BYE before the ACK (or the give-up) -- defer it
            leg.bye_after_ack = True
        elif leg.state is LegState.OUTGOING:
            leg.cancel_pending = True
            if leg.provisional_seen:
                self._send_cancel(leg, now)
        else:
            self._send_bye(leg, now)
            self._end(leg, "local-hangup")
        return True

    def reinvite(self, call: str, sdp: bytes, now: float) -> bool:
        """Send a re-INVITE with a new offer.

        False (nothing sent) when the call is not established or another offer is in flight (glare):
        call control may retry after the next event.
        """
        leg = self._legs.get(call)
        if leg is None or leg.state is not LegState.ESTABLISHED or leg.dialog is None:
            return False
        if leg.reinvite_tx is not None or leg.offer_tx is not None or leg.ok_bytes is not None:
            return False
        leg.local_sdp = sdp
        leg.reinvite_tx = self._send_in_dialog(leg, "INVITE", now, body=sdp, content_type=SDP)
        return True

    def send_info(
        self, call: str, body: bytes, now: float, *, content_type: str = "application/dtmf-relay"
    ) -> bool:
        """Send an INFO in the call's dialog; False if the call has no dialog (any more)."""
        leg = self._legs.get(call)
        if leg is None or leg.dialog is None or leg.state is LegState.ENDED:
            return False
        self._send_in_dialog(leg, "INFO", now, body=body, content_type=content_type)
        return True

    def accept_refer(self, call: str, now: float) -> bool:
        """Answer the leg's pending REFER 202 and send the first NOTIFY (RFC 3515 §2.4.4); False if none."""
        leg = self._legs.get(call)
        if leg is None or leg.refer_tx is None or leg.state is LegState.ENDED:
            return False
        tx = leg.refer_tx
        leg.refer_tx = None
        leg.refer_id = tx.request.cseq.seq
        self._respond(tx, tx.request, 202, now)
        leg.refer_active = True
        self.notify_refer(call, 100, now)
        return True

    def reject_refer(self, call: str, now: float, *, status: int = 403, reason: str | None = None) -> bool:
        """Refuse the leg's pending REFER with a 4xx-6xx status; False if there is none."""
        if not 400 <= status <= 699:
            raise LocalProtocolError("reject_refer needs a 4xx-6xx status")
        leg = self._legs.get(call)
        if leg is None or leg.refer_tx is None:
            return False
        tx = leg.refer_tx
        leg.refer_tx = None
        self._respond(tx, tx.request, status, now, reason=reason)
        return True

    def notify_refer(self, call: str, status: int, now: float, *, reason: str | None = None) -> bool:
        """NOTIFY the referrer of the transfer's progress as a ``message/sipfrag`` status line; a final
        status (>= 200) terminates the implicit subscription. False when there is nothing to notify."""
        if not 100 <= status <= 699:
            raise LocalProtocolError("notify_refer needs a 1xx-6xx status")
        leg = self._legs.get(call)
        if leg is None or not leg.refer_active or leg.dialog is None or leg.state is LegState.ENDED:
            return False
        final = status >= 200
        state = "terminated;reason=noresource" if final else "active;expires=60"
        if final:
            leg.refer_active = False
        fragment = f"SIP/2.0 {status} {reason or REASONS.get(status, '')}\r\n".encode()
        self._send_in_dialog(leg, "NOTIFY", now, body=fragment, content_type="message/sipfrag;version=2.0",
                             extra=(("Event", f"refer;id={leg.refer_id}"), ("Subscription-State", state)))
        return True

    def dial(
        self,
        target: str,
        from_uri: str,
        dest: Address,
        sdp: bytes | None,
        now: float,
        *,
        transport: str = "udp",
        from_display: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
        credentials: tuple[str, str] | None = None,
    ) -> str:
        """Place an outgoing call to ``target`` via ``dest``; returns the new leg id.

        ``credentials`` (user, password) answer one digest challenge (401/407) from the trunk.
        """
        tag = self._new_tag()
        uri = parse_uri(target)
        display = f"{quote(from_display)} " if from_display else ""
        h = Headers()
        h.add("Via", self._via(transport))
        h.add("Max-Forwards", "70")
        h.add("From", f"{display}<{from_uri}>;tag={tag}")
        h.add("To", f"<{target}>")
        h.add("Call-ID", self._new_call_id())
        h.add("CSeq", "1 INVITE")
        h.add("Contact", self._contact(transport))
        h.add("Allow", self._allow)
        h.add("Supported", "timer")
        if self.config.session_expires is not None:
            h.add("Session-Expires", str(self.config.session_expires))
            h.add("Min-SE", str(self.config.min_se))
        h.add("User-Agent", self.config.user_agent)
        for name, value in headers:
            h.add(name, value)
        if sdp:
            h.add("Content-Type", SDP)
        request = Request("INVITE", uri, h, sdp or b"")
        leg = Leg(self, tag, is_uas=False, invite=request, peer=dest, transport=transport)
        leg.local_sdp = sdp
        leg.credentials = credentials
        self._legs[tag] = leg
        leg.invite_tx = self._start_client(request, dest, transport, now, leg)
        self.stats.calls_out += 1
        return tag

    def legs(self) -> int:
        """How many call legs are alive (for metrics and tests)."""
        return len(self._legs)

    def transactions(self) -> int:
        """How many transactions are alive (for metrics and tests)."""
        return len(self._server_txs) + len(self._client_txs)

    # ------------------------------------------------------------------ TransactionOwner

    def transmit(self, data: bytes, dest: Address, transport: str) -> None:
        """Queue bytes for the driver (TransactionOwner)."""
        self._out.append((data, dest, transport))

    def transaction_rescheduled(self, tx: Transaction) -> None:
        """A transaction's deadline moved (TransactionOwner)."""
        self._timers.schedule(tx)

    def _index_connection(self, tx: Transaction) -> None:
        self._on_connection.setdefault((tx.dest, tx.transport), {})[tx] = None

    def transaction_terminated(self, tx: Transaction) -> None:
        """Forget a finished transaction (TransactionOwner)."""
        if tx.reliable:
            on_connection = self._on_connection.get((tx.dest, tx.transport))
            if on_connection is not None:
                on_connection.pop(tx, None)
                if not on_connection:
                    del self._on_connection[(tx.dest, tx.transport)]
        if isinstance(tx, ServerTransaction):
            if self._server_txs.get(tx.key) is tx:
                del self._server_txs[tx.key]
            merge = tx.merge_key
            if merge is not None and self._pending_invites.get(merge) == tx.key:
                del self._pending_invites[merge]
        elif self._client_txs.get(tx.key) is tx:
            del self._client_txs[tx.key]

    def transaction_ack(self, tx: ServerTransaction, ack: Request, now: float) -> None:
        """An ACK with the INVITE's own branch reached an Accepted transaction (TransactionOwner)."""
        self._handle_dialog_ack(ack, _tag(ack, "To"), _tag(ack, "From") or "", now)

    def transaction_timeout(self, tx: Transaction, now: float) -> None:
        """Timer B, C, F or H fired (TransactionOwner)."""
        leg = tx.user_data
        if not isinstance(leg, Leg):
            if isinstance(tx, ClientTransaction) and tx.request.method not in ("BYE", "CANCEL"):
                self._events.append(ev.RequestFailed(None, tx.request.method, 408))
            return
        self._client_failure(leg, tx, now, 408, "timeout")

    def transaction_transport_error(self, tx: Transaction, now: float) -> None:
        """The transport failed under a transaction (TransactionOwner)."""
        leg = tx.user_data
        if isinstance(leg, Leg):
            self._client_failure(leg, tx, now, 503, "transport-error")

    def transaction_response(self, tx: ClientTransaction, response: Response, now: float) -> None:
        """A client transaction passed a response up (TransactionOwner)."""
        leg = tx.user_data
        method = tx.request.method
        if not isinstance(leg, Leg):
            if response.status >= 300 and method != "BYE":
                self._events.append(ev.RequestFailed(None, method, response.status))
            return
        if tx is leg.invite_tx:
            self._invite_response(leg, tx, response, now)
        elif tx is leg.reinvite_tx:
            self._reinvite_response(leg, tx, response, now)
        elif method == "INVITE":
            ok = 200 <= response.status < 300
            if ok and leg.ack_bytes is not None and response.cseq.seq == leg.ack_cseq:
                # a retransmitted 2xx to an earlier (re-)INVITE: our ACK was lost, send it again
                self._out.append((leg.ack_bytes, self._dialog_dest(leg), leg.transport))
        elif method == "BYE":
            if response.status >= 200:
                self._forget(leg)
        elif method == "NOTIFY":
            if response.status >= 300:
                leg.refer_active = False  # the referrer dropped the subscription (481) or failed it
        elif method in ("INFO", "UPDATE", "OPTIONS") and response.status >= 300:
            if response.status in (408, 481):
                self._dialog_gone(leg, now)
            elif method == "INFO":
                self._events.append(ev.RequestFailed(leg.call, method, response.status))

    # ------------------------------------------------------------------ incoming requests

    def _handle_request(self, request: Request, addr: Address, transport: str, now: float) -> None:
        try:
            # the headers every request needs; Contact is parsed later, only where a dialog needs it
            _ = request.vias, request.call_id, request.max_forwards
            if request.cseq.method != request.method:
                raise RemoteProtocolError("CSeq method does not match request method")
            to_tag = _tag(request, "To")
            from_tag = _tag(request, "From") or ""
            if to_tag is None:
                _ = request.from_, request.to  # a new call or registration: both go into events
        except RemoteProtocolError as exc:
            self.stats.bad_requests += 1
            self._reply_stateless(request, addr, transport, exc.status, exc.reason)
            return
        via = request.top_via
        dest = _response_dest(via, addr, transport)
        self._stamp_via(request, via, addr)
        key = server_key(request)
        tx = self._server_txs.get(key)
        if tx is not None:
            self.stats.retransmissions_absorbed += 1
            tx.receive_request(request, now)
            return
        method = request.method
        if method == "ACK":
            self._handle_dialog_ack(request, to_tag, from_tag, now)
            return
        tx = ServerTransaction(request, key, dest, transport, self, self.config.timers)
        self._server_txs[key] = tx
        if tx.reliable:
            self._index_connection(tx)
        refusal = self._screen(request, tx, to_tag, addr, transport, now)
        if refusal:
            return
        if method == "CANCEL":
            self._handle_cancel(request, tx, key, now)
        elif to_tag is not None:
            self._handle_in_dialog(request, tx, to_tag, from_tag, now)
        elif method == "INVITE":
            self._handle_invite(request, tx, addr, transport, now)
        elif method == "OPTIONS":
            self._respond(tx, request, 200, now, extra=self._capabilities())
        elif method == "REGISTER":
            self._handle_register(request, tx, addr, transport, now)
        else:
            # BYE, INFO, UPDATE, REFER outside any dialog (we transfer only calls we are in)
            self._respond(tx, request, 481, now)

    def _screen(self, request: Request, tx: ServerTransaction, to_tag: str | None, addr: Address,
                transport: str, now: float) -> bool:
        """§8.2 checks in order (method, headers, content, policy); True when a refusal was sent."""
        method = request.method
        max_forwards = request.max_forwards
        if max_forwards is not None and max_forwards <= 0 and method != "OPTIONS":
            return self._refuse(tx, request, 483, addr, transport, now)
        if method not in self._allowed:
            if method in KNOWN_NOT_ALLOWED or method in IMPLEMENTED:
                return self._refuse(tx, request, 405, addr, transport, now, extra=(("Allow", self._allow),))
            return self._refuse(tx, request, 501, addr, transport, now)
        if method == "CANCEL":
            return False
        if to_tag is None and self._looped(request, tx):
            return self._refuse(tx, request, 482, addr, transport, now)
        required = request.headers.get_all("Require")
        if required:
            unsupported = [tag for tag in required if tag.strip().lower() not in SUPPORTED_OPTIONS]
            if unsupported:
                return self._refuse(tx, request, 420, addr, transport, now,
                                    extra=(("Unsupported", ", ".join(unsupported)),))
        if request.body and not self._acceptable_body(request):
            accept = ", ".join(sorted(INFO_TYPES)) if method == "INFO" else SDP
            return self._refuse(tx, request, 415, addr, transport, now, extra=(("Accept", accept),))
        if to_tag is not None:
            return False  # in-dialog requests are vouched for by the dialog they match (or get 481)
        verdict = self._verdict(method, addr[0])
        if verdict is Verdict.ACCEPT:
            return False
        if verdict is Verdict.CHALLENGE and self.authenticator is not None:
            decision = self.authenticator.check(request, now)
            if decision.user is not None:
                tx.user_data = decision.user  # the handler picks the authenticated user up from here
                return False
            if decision.challenge:
                self._respond(tx, request, 401, now, extra=decision.challenge)
                self._forget_untrusted(tx)
                return True
        self._refuse(tx, request, 403, addr, transport, now)
        self._forget_untrusted(tx)
        return True

    def _forget_untrusted(self, tx: ServerTransaction) -> None:
        # An INVITE server transaction would retransmit its 401/403 (Timer G) ten times to a source that
        # may be spoofed: scanners would turn us into an amplifier. Answer once and forget; a real phone
        # that lost the answer retransmits its INVITE and simply gets a fresh one.
        if tx.kind is Kind.INVITE_SERVER:
            tx.terminate()

    def _verdict(self, method: str, host: str) -> Verdict:
        policy = self.config.policy
        trunk = self._trunk_cache.get(host)
        if trunk is None:
            if len(self._trunk_cache) > 10_000:
                self._trunk_cache.clear()  # bounded: a scan from many addresses must not grow it forever
            trunk = self._trunk_cache[host] = policy.is_trunk(host)
        return policy.decide(method, trunk=trunk, can_authenticate=self.authenticator is not None)

    def _looped(self, request: Request, tx: ServerTransaction) -> bool:
        # §8.2.2.2 merged request: same Call-ID, From tag and CSeq as a pending INVITE, other branch
        if request.method != "INVITE":
            return False
        merge = (request.call_id, request.from_.tag or "", request.cseq.seq)
        pending = self._pending_invites.get(merge)
        if pending is not None and pending != tx.key:
            return True
        self._pending_invites[merge] = tx.key
        tx.merge_key = merge
        return False

    def _acceptable_body(self, request: Request) -> bool:
        content_type = (request.content_type or "").partition(";")[0].strip().lower()
        encoding = request.headers.get("Content-Encoding")
        if encoding is not None and encoding.strip().lower() not in ("", "identity"):
            return False
        method = request.method
        if method in ("INVITE", "UPDATE", "ACK"):
            return content_type == SDP
        if method == "INFO":
            return content_type in INFO_TYPES
        return True

    def _handle_invite(self, request: Request, tx: ServerTransaction, addr: Address, transport: str,
                       now: float) -> None:
        user = tx.user_data if isinstance(tx.user_data, str) else None
        if not request.contacts:
            self._respond(tx, request, 400, now, reason="Missing Contact")
            return
        session = uas_session_timer(request, min_se=self.config.min_se,
                                    default_interval=self.config.session_expires)
        if session.too_small:
            self._respond(tx, request, 422, now, extra=(("Min-SE", str(session.min_se)),))
            return
        tag = self._new_tag()
        leg = Leg(self, tag, is_uas=True, invite=request, peer=addr, transport=transport)
        leg.invite_tx = tx
        leg.dialog = Dialog.as_uas(request, tag)
        leg.remote_allow = frozenset(a.strip().upper() for a in request.headers.get_all("Allow"))
        leg.session = session.timer
        leg.session_headers = session.headers
        tx.user_data = leg
        leg.give_up_at = now + self.config.max_ring_time
        leg.update_deadline()
        self._legs[tag] = leg
        self._dialogs[leg.dialog.id] = leg
        self.stats.calls_in += 1
        if self.config.send_trying:
            # §17.2.1: 100 Trying is only owed if the TU stays silent; call control usually answers
            # before the driver drains the output, so decide in datagrams_to_send
            self._trying.append(tx)
        from_ = request.from_
        self._events.append(
            ev.IncomingCall(
                call=tag,
                call_id=request.call_id,
                from_uri=str(from_.uri),
                from_display=from_.display_name,
                to_uri=str(request.to.uri),
                request_user=request.uri.user,
                sdp_offer=request.body or None,
                source=addr,
                transport=transport,
                authenticated_user=user,
                asserted_identity=request.headers.get("P-Asserted-Identity"),
            )
        )

    def _handle_cancel(self, request: Request, tx: ServerTransaction, key: TransactionKey,
                       now: float) -> None:
        invite_tx = self._server_txs.get(cancelled_key(key))
        if invite_tx is None:
            self._respond(tx, request, 481, now)
            return
        self._respond(tx, request, 200, now)
        leg = invite_tx.user_data
        if invite_tx.final_sent or not isinstance(leg, Leg) or leg.state is not LegState.INCOMING:
            return  # §9.2: a CANCEL after the final response changes nothing (the 200/CANCEL race)
        invite_tx.respond(_reply(invite_tx.request, 487, tag=leg.call), now)
        self._end(leg, "cancelled", 487)

    def _handle_in_dialog(self, request: Request, tx: ServerTransaction, to_tag: str, from_tag: str,
                          now: float) -> None:
        leg = self._dialogs.get((request.call_id, to_tag, from_tag))
        method = request.method
        if leg is None or leg.dialog is None:
            self._respond(tx, request, 481, now)
            return
        dialog = leg.dialog
        if not dialog.accept_remote_cseq(request):
            self._respond(tx, request, 500, now, reason="CSeq Out of Order")
            return
        tx.user_data = leg
        if method == "BYE":
            self._respond(tx, request, 200, now)
            if leg.state is LegState.INCOMING and isinstance(leg.invite_tx, ServerTransaction):
                leg.invite_tx.respond(_reply(leg.invite, 487, tag=leg.call), now)
            self._end(leg, "remote-bye")
            self._forget(leg)
        elif method == "INVITE" or (method == "UPDATE" and request.body):
            self._handle_reoffer(leg, request, tx, now)
        elif method == "UPDATE":
            self._refresh_session(leg, request, tx, now)
        elif method == "INFO":
            self._handle_info(leg, request, tx, now)
        elif method == "OPTIONS":
            self._respond(tx, request, 200, now, extra=self._capabilities())
        elif method == "REFER":
            self._handle_refer(leg, request, tx, now)
        else:
            self._respond(tx, request, 405, now, extra=(("Allow", self._allow),))

    def _handle_refer(self, leg: Leg, request: Request, tx: ServerTransaction, now: float) -> None:
        # RFC 3515 §2.4.1: exactly one Refer-To; only a confirmed call can be transferred
        values = request.headers.get_all("Refer-To")
        if len(values) != 1:
            reason = "Multiple Refer-To" if values else "Missing Refer-To"
            self._respond(tx, request, 400, now, reason=reason)
            return
        try:
            target = parse_name_addr(values[0]).uri
        except RemoteProtocolError:
            self._respond(tx, request, 400, now, reason="Bad Refer-To")
            return
        if leg.state is not LegState.ESTABLISHED:
            self._respond(tx, request, 403, now, reason="Call Not Established")
            return
        if leg.refer_tx is not None or leg.refer_active:
            self._respond(tx, request, 491, now)  # one transfer at a time
            return
        leg.refer_tx = tx
        self._events.append(ev.ReferReceived(leg.call, str(target), target.user,
                                             request.headers.get("Referred-By")))

    def _handle_reoffer(self, leg: Leg, request: Request, tx: ServerTransaction, now: float) -> None:
        if request.method == "INVITE" and leg.state is LegState.INCOMING:
            # §14.2: a second INVITE before we answered the first one
            self._respond(tx, request, 500, now, extra=(("Retry-After", str(self.rng.randint(0, 10))),))
            return
        if leg.reinvite_tx is not None:
            self._respond(tx, request, 491, now)  # glare (§14.2)
            return
        if leg.offer_tx is not None or leg.ok_bytes is not None:
            self._respond(tx, request, 500, now, extra=(("Retry-After", str(self.rng.randint(0, 10))),))
            return
        session = uas_session_timer(request, min_se=self.config.min_se, default_interval=None)
        if session.too_small:
            self._respond(tx, request, 422, now, extra=(("Min-SE", str(session.min_se)),))
            return
        if session.timer is not None:
            leg.session = session.timer
            leg.session_headers = session.headers
        if leg.dialog is not None and request.method == "INVITE":
            leg.dialog.refresh_target(request)
        leg.offer_tx = tx
        body = request.body
        if not body or body == leg.remote_sdp:
            # a session refresh or a late offer: the description we gave last still answers it
            self._answer_offer(leg, leg.local_sdp, now)
            return
        try:
            held = is_on_hold(parse_sdp(body))
        except SdpError:
            leg.offer_tx = None
            self._respond(tx, request, 488, now, reason="Unreadable SDP")
            return
        leg.remote_sdp = body
        self._events.append(ev.Reinvited(leg.call, body, held))

    def _answer_offer(self, leg: Leg, sdp: bytes | None, now: float) -> None:
        tx = leg.offer_tx
        assert tx is not None
        leg.offer_tx = None
        if sdp is not None:
            leg.local_sdp = sdp
        response = self._ok_for_invite(leg, tx.request, sdp)
        tx.respond(response, now)
        if tx.kind is Kind.INVITE_SERVER:
            self._start_ok_retransmission(leg, tx, now)
        self._start_session_timer(leg, now)

    def _refresh_session(self, leg: Leg, request: Request, tx: ServerTransaction, now: float) -> None:
        session = uas_session_timer(request, min_se=self.config.min_se, default_interval=None)
        if session.too_small:
            self._respond(tx, request, 422, now, extra=(("Min-SE", str(session.min_se)),))
            return
        if session.timer is not None:
            leg.session = session.timer
            leg.session_headers = session.headers
        self._respond(tx, request, 200, now, extra=leg.session_headers)
        self._start_session_timer(leg, now)

    def _handle_info(self, leg: Leg, request: Request, tx: ServerTransaction, now: float) -> None:
        if not request.body:
            self._respond(tx, request, 200, now)  # an empty INFO is a keepalive probe
            return
        try:
            dtmf = parse_dtmf_info(request.content_type, request.body)
        except InfoError as exc:
            self._respond(tx, request, 400, now, reason=str(exc)[:80] or None)
            return
        self._respond(tx, request, 200, now)
        self._events.append(ev.DtmfReceived(leg.call, dtmf.digit, dtmf.duration_ms))

    def _handle_register(self, request: Request, tx: ServerTransaction, addr: Address, transport: str,
                         now: float) -> None:
        user = tx.user_data if isinstance(tx.user_data, str) else None
        if self.registrar is None or user is None:
            self._respond(tx, request, 403, now)
            return
        if request.to.uri.user != user:
            # an agent may only bind its own address of record, never redirect a colleague's calls
            self._respond(tx, request, 403, now, reason="Forbidden: not your address")
            return
        response = self.registrar.register(request, now, to_tag=self._new_tag())
        tx.respond(response, now)
        if response.status != 200:
            return
        aor = request.to.uri.address_of_record()
        contacts = response.contacts
        if contacts:
            expires = min(int(c.params.get("expires") or 0) for c in contacts)
            bound = tuple(str(c.uri) for c in contacts)
            self._events.append(ev.Registered(aor, bound, expires, addr, transport))
        elif request.contacts or request.contact_is_wildcard:
            self._events.append(ev.Unregistered(aor, addr))

    def _handle_dialog_ack(self, ack: Request, to_tag: str | None, from_tag: str, now: float) -> None:
        leg = self._dialogs.get((ack.call_id, to_tag, from_tag)) if to_tag else None
        if leg is None or leg.ok_bytes is None or ack.cseq.seq != leg.ok_cseq:
            self.stats.stray_acks += 1
            return
        leg.ok_bytes = None
        leg.retransmit_at = leg.give_up_at = None
        leg.update_deadline()
        if leg.state is LegState.ANSWERED:
            leg.state = LegState.ESTABLISHED
            self._events.append(ev.CallConfirmed(leg.call, ack.body or None))
            if leg.bye_after_ack:
                self._send_bye(leg, now)
                self._end(leg, "local-hangup")

    # ------------------------------------------------------------------ incoming responses

    def _handle_response(self, response: Response, now: float) -> None:
        try:
            key = response_key(response)
        except RemoteProtocolError:
            self.stats.garbage_dropped += 1
            return
        tx = self._client_txs.get(key)
        if tx is None:
            self.stats.stray_responses += 1
            return
        tx.receive_response(response, now)

    def _invite_response(self, leg: Leg, tx: ClientTransaction, response: Response, now: float) -> None:
        status = response.status
        if leg.state is LegState.ENDED and status < 200:
            return
        to_tag = response.to.tag
        if status < 200:
            if status == 100:
                leg.provisional_seen = True
            elif to_tag is not None:
                leg.provisional_seen = True
                if leg.dialog is None:
                    leg.dialog = Dialog.as_uac(tx.request, response)
                    self._dialogs[leg.dialog.id] = leg
                if not leg.cancel_pending:
                    self._events.append(ev.CallRinging(leg.call, status, response.body or None))
            if leg.cancel_pending and leg.cancel_tx is None:
                self._send_cancel(leg, now)
            return
        if status < 300:
            self._invite_accepted(leg, tx, response, now)
            return
        if status in (401, 407) and self._retry_with_credentials(leg, tx, response, now):
            return
        if leg.dialog is not None:
            self._dialogs.pop(leg.dialog.id, None)
        reason = "cancelled" if leg.cancel_pending and status == 487 else "rejected"
        self._end(leg, reason, status)
        self._forget(leg)

    def _retry_with_credentials(self, leg: Leg, tx: ClientTransaction, response: Response,
                                now: float) -> bool:
        """Answer a trunk's digest challenge once (§22.2) with a new INVITE carrying credentials."""
        if leg.credentials is None or leg.auth_tried or leg.cancel_pending:
            return False
        leg.auth_tried = True
        proxy = response.status == 407
        values = response.headers.get_all("Proxy-Authenticate" if proxy else "WWW-Authenticate")
        user, password = leg.credentials
        old = tx.request
        try:
            value = answer_challenge(
                choose_challenge(values), username=user, password=password, method="INVITE",
                uri=str(old.uri), cnonce=make_cnonce(self.rng),
            )
        except (AuthError, ValueError):
            return False
        headers = old.headers.copy()
        headers.pop_first("Via")
        headers.prepend("Via", self._via(leg.transport))
        headers.set("CSeq", f"{old.cseq.seq + 1} INVITE")
        headers.add("Proxy-Authorization" if proxy else "Authorization", value)
        request = Request("INVITE", old.uri, headers, old.body)
        if leg.dialog is not None:
            self._dialogs.pop(leg.dialog.id, None)
            leg.dialog = None
        leg.invite = request
        leg.provisional_seen = False
        leg.invite_tx = self._start_client(request, tx.dest, leg.transport, now, leg)
        return True

    def _invite_accepted(self, leg: Leg, tx: ClientTransaction, response: Response, now: float) -> None:
        if leg.ack_bytes is not None:
            # a retransmitted 2xx: our ACK was lost (§13.2.2.4), send it again
            if response.cseq.seq == leg.ack_cseq:
                self._out.append((leg.ack_bytes, self._dialog_dest(leg), leg.transport))
            return
        dialog = leg.dialog
        if dialog is None or dialog.remote_tag != (response.to.tag or ""):
            if dialog is not None:
                self._dialogs.pop(dialog.id, None)
            dialog = leg.dialog = Dialog.as_uac(tx.request, response)
            self._dialogs[dialog.id] = leg
        else:
            dialog.confirm(response)
        leg.remote_allow = frozenset(a.strip().upper() for a in response.headers.get_all("Allow"))
        ack = dialog.create_request("ACK", via=self._via(leg.transport, self._new_branch()),
                                    cseq=tx.request.cseq.seq)
        leg.ack_bytes = ack.to_bytes()
        leg.ack_cseq = tx.request.cseq.seq
        self._out.append((leg.ack_bytes, self._dialog_dest(leg), leg.transport))
        leg.remote_sdp = response.body or None
        if leg.cancel_pending or leg.state is LegState.ENDED:
            # the 200/CANCEL crossing (§9.1): the call was answered after all, so end it with BYE
            self._send_bye(leg, now)
            self._end(leg, "cancelled", 487)
            return
        leg.state = LegState.ESTABLISHED
        leg.session = uac_session_timer(response)
        self._start_session_timer(leg, now)
        self._events.append(ev.CallAnswered(leg.call, response.body or None))

    def _reinvite_response(self, leg: Leg, tx: ClientTransaction, response: Response, now: float) -> None:
        status = response.status
        if status < 200:
            return
        leg.reinvite_tx = None
        if status < 300 and leg.dialog is not None:
            leg.dialog.refresh_target(response)
            ack = leg.dialog.create_request("ACK", via=self._via(leg.transport, self._new_branch()),
                                            cseq=tx.request.cseq.seq)
            leg.ack_bytes = ack.to_bytes()
            leg.ack_cseq = tx.request.cseq.seq
            self._out.append((leg.ack_bytes, self._dialog_dest(leg), leg.transport))
            if response.body:
                leg.remote_sdp = response.body
            timer = uac_session_timer(response)
            if timer is not None:
                leg.session = timer
            self._start_session_timer(leg, now)
        if status in (408, 481):
            self._dialog_gone(leg, now)
            return
        if "Session-Expires" not in tx.request.headers:  # our own refreshes are no news for call control
            self._events.append(ev.ReinviteAnswered(leg.call, status, response.body or None))

    def _client_failure(self, leg: Leg, tx: Transaction, now: float, status: int, reason: str) -> None:
        if tx is leg.invite_tx:
            if tx.kind is Kind.INVITE_CLIENT and tx.state is State.PROCEEDING and status == 408:
                # Timer C: give up ringing by cancelling; the 487 (or Timer F on the CANCEL) ends it.
                # If Timer C fires again after our CANCEL, the peer will never answer: stop waiting.
                leg.cancel_pending = True
                if leg.cancel_tx is None:
                    self._send_cancel(leg, now)
                    return
                tx.terminate()
                self._end(leg, "timeout", 408)
                self._forget(leg)
                return
            if leg.state in (LegState.INCOMING, LegState.OUTGOING):
                self._end(leg, reason, status)
                self._forget(leg)
        elif tx is leg.cancel_tx:
            if isinstance(leg.invite_tx, ClientTransaction) and leg.state is LegState.OUTGOING:
                leg.invite_tx.terminate()
                self._end(leg, reason, status)
                self._forget(leg)
        elif tx is leg.reinvite_tx or (isinstance(tx, ClientTransaction) and tx.request.method != "BYE"):
            if tx is leg.reinvite_tx:
                leg.reinvite_tx = None
            self._dialog_gone(leg, now)
        elif isinstance(tx, ClientTransaction):
            self._forget(leg)  # BYE failed: nothing more to do

    # ------------------------------------------------------------------ leg timers

    def _leg_timer(self, leg: Leg, now: float) -> None:
        timers = self.config.timers
        if leg.give_up_at is not None and leg.give_up_at <= now and leg.state is LegState.INCOMING:
            # call control never answered: do not keep the caller (and our memory) waiting forever
            leg.give_up_at = None
            self.reject(leg.call, now, status=480)
        if leg.give_up_at is not None and leg.give_up_at <= now:
            # §13.3.1.4: no ACK within 64*T1 -- the dialog is confirmed but the peer is gone
            leg.ok_bytes = None
            leg.retransmit_at = leg.give_up_at = None
            if leg.state is not LegState.ENDED:
                self._send_bye(leg, now)
                self._end(leg, "ack-timeout")
        if leg.retransmit_at is not None and leg.retransmit_at <= now and leg.ok_bytes is not None:
            self._out.append((leg.ok_bytes, self._ok_dest(leg), leg.transport))
            leg.ok_interval = min(leg.ok_interval * 2, timers.t2)
            leg.retransmit_at = now + leg.ok_interval
        if leg.session_at is not None and leg.session_at <= now:
            leg.session_at = None
            if leg.state is LegState.ESTABLISHED and leg.session is not None:
                if leg.session.we_refresh:
                    self._send_refresh(leg, now)
                else:
                    self._send_bye(leg, now)
                    self._end(leg, "session-expired")
        leg.update_deadline()

    def _start_ok_retransmission(self, leg: Leg, tx: ServerTransaction, now: float) -> None:
        leg.ok_bytes = tx.last_response_bytes
        leg.ok_cseq = tx.cseq_seq
        t1 = self.config.timers.t1
        if not is_reliable(leg.transport):
            leg.ok_interval = t1
            leg.retransmit_at = now + t1
        leg.give_up_at = now + 64 * t1
        leg.update_deadline()

    def _start_session_timer(self, leg: Leg, now: float) -> None:
        if leg.session is None:
            return
        leg.session_at = leg.session.next_deadline(now)
        leg.update_deadline()

    def _send_refresh(self, leg: Leg, now: float) -> None:
        assert leg.session is not None
        # RFC 4028: "refresher" names a role in *this* transaction, where we are the UAC
        extra = (("Session-Expires", f"{leg.session.interval};refresher=uac"), ("Supported", "timer"))
        if "UPDATE" in leg.remote_allow:
            self._send_in_dialog(leg, "UPDATE", now, extra=extra)
            self._start_session_timer(leg, now)
        elif leg.reinvite_tx is None and leg.offer_tx is None and leg.ok_bytes is None:
            leg.reinvite_tx = self._send_in_dialog(leg, "INVITE", now, body=leg.local_sdp or b"",
                                                   content_type=SDP, extra=extra)
            self._start_session_timer(leg, now)
        else:
            # an offer exchange is in flight: try again shortly rather than let the session lapse
            leg.session_at = now + min(10.0, leg.session.interval / 10)
            leg.update_deadline()

    # ------------------------------------------------------------------ sending helpers

    def _send_in_dialog(self, leg: Leg, method: str, now: float, *, body: bytes = b"",
                        content_type: str | None = None,
                        extra: tuple[tuple[str, str], ...] = ()) -> ClientTransaction:
        assert leg.dialog is not None
        contact = self._contact(leg.transport) if method in ("INVITE", "UPDATE") else None
        request = leg.dialog.create_request(method, via=self._via(leg.transport), contact=contact, body=body,
                                            content_type=content_type, extra=extra)
        return self._start_client(request, self._dialog_dest(leg), leg.transport, now, leg)

    def _send_bye(self, leg: Leg, now: float) -> None:
        if leg.dialog is None or leg.dialog.state is DialogState.TERMINATED:
            return
        self._send_in_dialog(leg, "BYE", now)
        leg.dialog.terminate()

    def _send_cancel(self, leg: Leg, now: float) -> None:
        invite = leg.invite
        if leg.cancel_tx is not None or not isinstance(leg.invite_tx, ClientTransaction):
            return
        if leg.invite_tx.state is not State.PROCEEDING:
            return  # §9.1: nothing to cancel before a provisional, nor after a final response
        h = Headers()
        h.add("Via", invite.headers.get_all("Via")[0])
        h.add("Max-Forwards", "70")
        for route in invite.headers.get_all("Route"):
            h.add("Route", route)
        h.add("From", invite.headers.get("From") or "")
        h.add("To", invite.headers.get("To") or "")
        h.add("Call-ID", invite.call_id)
        h.add("CSeq", f"{invite.cseq.seq} CANCEL")
        cancel = Request("CANCEL", invite.uri, h)
        leg.cancel_tx = self._start_client(cancel, leg.invite_tx.dest, leg.transport, now, leg)

    def _start_client(self, request: Request, dest: Address, transport: str, now: float,
                      leg: Leg | None) -> ClientTransaction:
        tx = ClientTransaction(request, dest, transport, self, self.config.timers)
        tx.user_data = leg
        self._client_txs[tx.key] = tx
        if tx.reliable:
            self._index_connection(tx)
        tx.start(now)
        return tx

    def _respond(self, tx: ServerTransaction, request: Request, status: int, now: float, *,
                 reason: str | None = None, extra: tuple[tuple[str, str], ...] = ()) -> None:
        to_tag = None if status == 100 or _tag(request, "To") is not None else self._new_tag()
        response = _reply(request, status, reason, tag=to_tag)
        for name, value in extra:
            response.headers.add(name, value)
        tx.respond(response, now)

    def _refuse(self, tx: ServerTransaction, request: Request, status: int, addr: Address, transport: str,
                now: float, *, extra: tuple[tuple[str, str], ...] = ()) -> bool:
        self.stats.refused += 1
        self._respond(tx, request, status, now, extra=extra)
        reason = REASONS.get(status, "")
        self._events.append(ev.RequestRefused(request.method, status, reason, addr, transport))
        return True

    def _reply_error(self, request: Request, addr: Address, transport: str, status: int, reason: str | None,
                     now: float) -> None:
        # answer through the request's transaction if one was already created, so it is not left mute
        try:
            tx = self._server_txs.get(server_key(request))
            if tx is not None and not tx.final_sent and tx.request is request:
                self._respond(tx, request, status, now, reason=reason)
                return
        except (RemoteProtocolError, LocalProtocolError):
            pass
        self._reply_stateless(request, addr, transport, status, reason)

    def _reply_stateless(self, request: Request, addr: Address, transport: str, status: int,
                         reason: str | None = None) -> None:
        if request.method == "ACK":
            return
        try:
            response = make_response(request, status, reason)
            data = response.to_bytes()
        except (RemoteProtocolError, LocalProtocolError):
            self.stats.garbage_dropped += 1
            return
        self._out.append((data, addr, transport))

    def _answer_unparseable(self, exc: RemoteProtocolError, addr: Address, transport: str) -> None:
        response = error_response(exc)
        if response is None:
            self.stats.garbage_dropped += 1
            return
        self.stats.bad_requests += 1
        try:
            self._out.append((response.to_bytes(), addr, transport))
        except LocalProtocolError:
            self.stats.garbage_dropped += 1

    def _stamp_via(self, request: Request, via: Via, addr: Address) -> None:
        # §18.2.1 received=, RFC 3581 rport=: only touch the header when something must change
        host = via.host.strip("[]")
        needs_received = host != addr[0]
        needs_rport = via.rport is True
        if not needs_received and not needs_rport:
            return
        params = dict(via.params)
        if needs_received or needs_rport:
            params["received"] = addr[0]
        if needs_rport:
            params["rport"] = str(addr[1])
        stamped = Via(via.transport, via.host, via.port, params)
        request.headers.pop_first("Via")
        request.headers.prepend("Via", str(stamped))

    def _ok_for_invite(self, leg: Leg, request: Request, sdp: bytes | None) -> Response:
        response = _reply(request, 200, tag=leg.call, body=sdp or b"", content_type=SDP if sdp else None)
        headers = response.headers
        for record_route in request.headers.get_all("Record-Route"):
            headers.add("Record-Route", record_route)
        headers.extend_canonical(
            (("Contact", self._contact(leg.transport)), ("Allow", self._allow), ("Supported", "timer"))
        )
        for name, value in leg.session_headers:
            headers.add(name, value)
        return response

    def _add_contact(self, response: Response, transport: str) -> None:
        response.headers.add("Contact", self._contact(transport))

    def _capabilities(self) -> tuple[tuple[str, str], ...]:
        return (("Allow", self._allow), ("Accept", SDP), ("Supported", "timer"))

    def _dialog_dest(self, leg: Leg) -> Address:
        dialog = leg.dialog
        if dialog is not None and dialog.route_set:
            return _uri_address(dialog.next_hop())
        # symmetric signalling: answer NATed trunks and phones where their packets came from
        return leg.peer

    def _ok_dest(self, leg: Leg) -> Address:
        tx = leg.invite_tx
        return tx.dest if tx is not None else leg.peer

    def _via(self, transport: str, branch: str | None = None) -> str:
        branch = branch or self._new_branch()
        return f"SIP/2.0/{transport.upper()} {self._hostport};branch={branch};rport"

    def _contact(self, transport: str) -> str:
        suffix = "" if transport == "udp" else f";transport={transport}"
        return f"<sip:{self._hostport}{suffix}>"

    def _new_tag(self) -> str:
        return f"{self.rng.getrandbits(64):016x}"

    def _new_branch(self) -> str:
        return f"{MAGIC_COOKIE}{self.rng.getrandbits(80):020x}"

    def _new_call_id(self) -> str:
        return f"{self.rng.getrandbits(96):024x}@{self.config.host}"

    # ------------------------------------------------------------------ leg bookkeeping

    def _end(self, leg: Leg, reason: str, status: int | None = None) -> None:
        if leg.state is LegState.ENDED:
            return
        leg.state = LegState.ENDED
        # nothing is owed to a finished call: no 2xx retransmission, no refresh, no give-up
        leg.ok_bytes = None
        leg.session_at = leg.retransmit_at = leg.give_up_at = None
        leg.update_deadline()
        if leg.refer_tx is not None:  # a REFER nobody answered: the call it would transfer is gone
            leg.refer_tx.terminate()
            leg.refer_tx = None
        leg.refer_active = False
        self._legs.pop(leg.call, None)
        self._events.append(ev.CallEnded(leg.call, reason, status))

    def _forget(self, leg: Leg) -> None:
        if leg.dialog is not None:
            leg.dialog.terminate()
            self._dialogs.pop(leg.dialog.id, None)
        self._legs.pop(leg.call, None)

    def _dialog_gone(self, leg: Leg, now: float) -> None:
        # §12.2.1.2: a 481 or 408 to an in-dialog request ends the dialog
        self._send_bye(leg, now)
        self._end(leg, "dialog-lost")

