"""SIP transactions (RFC 3261 §17, with the Accepted state of RFC 6026), sans-IO.

Four state machines -- INVITE and non-INVITE, client and server -- are written down as one transition
table: ``(kind, state, input) -> (next state, actions)``. A transaction object only interprets that
table; it never touches a socket or a clock. Time arrives as ``now`` (float seconds), output leaves
through the :class:`TransactionOwner` the endpoint passes in (bytes to transmit, responses to hand to the
transaction user, timeouts), and the earliest pending timer is exposed as :attr:`Transaction.deadline`
so the owner can keep one timer heap for thousands of transactions (:class:`TimerHeap`).

The Accepted state (RFC 6026) replaces "terminate on 2xx": an INVITE server transaction that sent a 2xx
lingers for Timer L to absorb retransmitted INVITEs (otherwise each would start a new call), and an
INVITE client transaction lingers for Timer M so retransmitted 2xx responses still reach the TU, which
re-sends its ACK. Retransmitting the 2xx itself until the ACK arrives stays the TU's job (§13.3.1.4).
"""

from __future__ import annotations

import enum
import heapq
import weakref
from dataclasses import dataclass
from typing import Protocol

from waterline.sip.errors import LocalProtocolError
from waterline.sip.headers import Headers
from waterline.sip.message import Request, Response

MAGIC_COOKIE = "z9hG4bK"
RELIABLE_TRANSPORTS = frozenset({"tcp", "tls", "sctp", "ws", "wss"})

Address = tuple[str, int]
TransactionKey = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TimerConfig:
    """The RFC 3261 timer base values (§17.1.1.1), in seconds, plus Timer C (§16.6) for INVITE clients."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    timer_c: float = 180.0


class Kind(enum.Enum):
    """Which of the four transaction state machines."""

    INVITE_CLIENT = "ict"
    NON_INVITE_CLIENT = "nict"
    INVITE_SERVER = "ist"
    NON_INVITE_SERVER = "nist"

    # Enum's own __hash__ is Python code; the transition table and timer sets are looked up several
    # times per message, and members are singletons, so the identity hash is both correct and ~3x faster
    __hash__ = object.__hash__


class State(enum.Enum):
    """Transaction states of §17 plus Accepted (RFC 6026)."""

    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    ACCEPTED = "accepted"
    TERMINATED = "terminated"
    __hash__ = object.__hash__  # see Kind


class Timer(enum.Enum):
    """The named timers of §17 (and L/M of RFC 6026, C of §16.6)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"
    G = "G"
    H = "H"
    I = "I"  # noqa: E741 - the RFC's name
    J = "J"
    K = "K"
    L = "L"
    M = "M"
    __hash__ = object.__hash__  # see Kind


class Input(enum.Enum):
    """What can happen to a transaction."""

    REQUEST = "request"  # a retransmission of the request that created a server transaction
    ACK = "ack"
    SEND_1XX = "send-1xx"
    SEND_2XX = "send-2xx"
    SEND_FINAL = "send-300-699"
    RECV_1XX = "recv-1xx"
    RECV_2XX = "recv-2xx"
    RECV_FINAL = "recv-300-699"
    TRANSPORT_ERROR = "transport-error"
    TIMEOUT_A = "timer-A"
    TIMEOUT_B = "timer-B"
    TIMEOUT_C = "timer-C"
    TIMEOUT_D = "timer-D"
    TIMEOUT_E = "timer-E"
    TIMEOUT_F = "timer-F"
    TIMEOUT_G = "timer-G"
    TIMEOUT_H = "timer-H"
    TIMEOUT_I = "timer-I"
    TIMEOUT_J = "timer-J"
    TIMEOUT_K = "timer-K"
    TIMEOUT_L = "timer-L"
    TIMEOUT_M = "timer-M"
    __hash__ = object.__hash__  # see Kind


class Act(enum.Enum):
    """Side effects a transition asks for (a ``Timer`` in an action tuple means "start that timer")."""

    SEND_REQUEST = "send-request"  # client: (re)transmit the request
    SEND_RESPONSE = "send-response"  # server: transmit the TU's response and remember it
    RESEND_RESPONSE = "resend-response"  # server: retransmit the last response
    PASS_UP = "pass-up"  # hand the response (client) or ACK (server) to the TU
    SEND_ACK = "send-ack"  # INVITE client: ACK a 300-699 response inside the transaction
    REPORT_TIMEOUT = "report-timeout"
    REPORT_TRANSPORT_ERROR = "report-transport-error"
    __hash__ = object.__hash__  # see Kind


_TIMER_INPUT = {timer: Input["TIMEOUT_" + timer.value] for timer in Timer}

K = Kind
S = State
In = Input
Actions = tuple["Act | Timer", ...]

# The four state machines of §17 (Figures 5-8) as data, with RFC 6026's Accepted state.
TRANSITIONS: dict[tuple[Kind, State, Input], tuple[State, Actions]] = {
    # INVITE client (Figure 5)
    (K.INVITE_CLIENT, S.CALLING, In.TIMEOUT_A): (S.CALLING, (Act.SEND_REQUEST, Timer.A)),
    (K.INVITE_CLIENT, S.CALLING, In.TIMEOUT_B): (S.TERMINATED, (Act.REPORT_TIMEOUT,)),
    (K.INVITE_CLIENT, S.CALLING, In.RECV_1XX): (S.PROCEEDING, (Act.PASS_UP, Timer.C)),
    (K.INVITE_CLIENT, S.CALLING, In.RECV_2XX): (S.ACCEPTED, (Act.PASS_UP, Timer.M)),
    (K.INVITE_CLIENT, S.CALLING, In.RECV_FINAL): (S.COMPLETED, (Act.SEND_ACK, Act.PASS_UP, Timer.D)),
    (K.INVITE_CLIENT, S.CALLING, In.TRANSPORT_ERROR): (S.TERMINATED, (Act.REPORT_TRANSPORT_ERROR,)),
    (K.INVITE_CLIENT, S.PROCEEDING, In.RECV_1XX): (S.PROCEEDING, (Act.PASS_UP, Timer.C)),
    (K.INVITE_CLIENT, S.PROCEEDING, In.RECV_2XX): (S.ACCEPTED, (Act.PASS_UP, Timer.M)),
    (K.INVITE_CLIENT, S.PROCEEDING, In.RECV_FINAL): (S.COMPLETED, (Act.SEND_ACK, Act.PASS_UP, Timer.D)),
    # Timer C: the TU is told and is expected to CANCEL; the transaction waits for the 487, and tells
    # the TU again every Timer C so a peer that never answers the CANCEL cannot keep it forever.
    (K.INVITE_CLIENT, S.PROCEEDING, In.TIMEOUT_C): (S.PROCEEDING, (Act.REPORT_TIMEOUT, Timer.C)),
    (K.INVITE_CLIENT, S.PROCEEDING, In.TRANSPORT_ERROR): (S.TERMINATED, (Act.REPORT_TRANSPORT_ERROR,)),
    (K.INVITE_CLIENT, S.COMPLETED, In.RECV_FINAL): (S.COMPLETED, (Act.SEND_ACK,)),
    (K.INVITE_CLIENT, S.COMPLETED, In.RECV_1XX): (S.COMPLETED, ()),
    (K.INVITE_CLIENT, S.COMPLETED, In.TIMEOUT_D): (S.TERMINATED, ()),
    (K.INVITE_CLIENT, S.COMPLETED, In.TRANSPORT_ERROR): (S.TERMINATED, (Act.REPORT_TRANSPORT_ERROR,)),
    (K.INVITE_CLIENT, S.ACCEPTED, In.RECV_2XX): (S.ACCEPTED, (Act.PASS_UP,)),
    (K.INVITE_CLIENT, S.ACCEPTED, In.RECV_1XX): (S.ACCEPTED, ()),
    (K.INVITE_CLIENT, S.ACCEPTED, In.RECV_FINAL): (S.ACCEPTED, ()),
    (K.INVITE_CLIENT, S.ACCEPTED, In.TIMEOUT_M): (S.TERMINATED, ()),
    # non-INVITE client (Figure 6)
    (K.NON_INVITE_CLIENT, S.TRYING, In.TIMEOUT_E): (S.TRYING, (Act.SEND_REQUEST, Timer.E)),
    (K.NON_INVITE_CLIENT, S.TRYING, In.TIMEOUT_F): (S.TERMINATED, (Act.REPORT_TIMEOUT,)),
    (K.NON_INVITE_CLIENT, S.TRYING, In.RECV_1XX): (S.PROCEEDING, (Act.PASS_UP,)),
    (K.NON_INVITE_CLIENT, S.TRYING, In.RECV_2XX): (S.COMPLETED, (Act.PASS_UP, Timer.K)),
    (K.NON_INVITE_CLIENT, S.TRYING, In.RECV_FINAL): (S.COMPLETED, (Act.PASS_UP, Timer.K)),
    (K.NON_INVITE_CLIENT, S.TRYING, In.TRANSPORT_ERROR): (S.TERMINATED, (Act.REPORT_TRANSPORT_ERROR,)),
    (K.NON_INVITE_CLIENT, S.PROCEEDING, In.TIMEOUT_E): (S.PROCEEDING, (Act.SEND_REQUEST, Timer.E)),
    (K.NON_INVITE_CLIENT, S.PROCEEDING, In.TIMEOUT_F): (S.TERMINATED, (Act.REPORT_TIMEOUT,)),
    (K.NON_INVITE_CLIENT, S.PROCEEDING, In.RECV_1XX): (S.PROCEEDING, (Act.PASS_UP,)),
    (K.NON_INVITE_CLIENT, S.PROCEEDING, In.RECV_2XX): (S.COMPLETED, (Act.PASS_UP, Timer.K)),
    (K.NON_INVITE_CLIENT, S.PROCEEDING, In.RECV_FINAL): (S.COMPLETED, (Act.PASS_UP, Timer.K)),
    (K.NON_INVITE_CLIENT, S.PROCEEDING, In.TRANSPORT_ERROR): (S.TERMINATED, (Act.REPORT_TRANSPORT_ERROR,)),
    (K.NON_INVITE_CLIENT, S.COMPLETED, In.RECV_1XX): (S.COMPLETED, ()),
    (K.NON_INVITE_CLIENT, S.COMPLETED, In.RECV_2XX): (S.COMPLETED, ()),
    (K.NON_INVITE_CLIENT, S.COMPLETED, In.RECV_FINAL): (S.COMPLETED, ()),
    (K.NON_INVITE_CLIENT, S.COMPLETED, In.TIMEOUT_K): (S.TERMINATED, ()),
    # INVITE server (Figure 7, RFC 6026 Figure 3)
    (K.INVITE_SERVER, S.PROCEEDING, In.REQUEST): (S.PROCEEDING, (Act.RESEND_RESPONSE,)),
    (K.INVITE_SERVER, S.PROCEEDING, In.SEND_1XX): (S.PROCEEDING, (Act.SEND_RESPONSE,)),
    (K.INVITE_SERVER, S.PROCEEDING, In.SEND_2XX): (S.ACCEPTED, (Act.SEND_RESPONSE, Timer.L)),
    (K.INVITE_SERVER, S.PROCEEDING, In.SEND_FINAL): (S.COMPLETED, (Act.SEND_RESPONSE, Timer.G, Timer.H)),
    (K.INVITE_SERVER, S.PROCEEDING, In.TRANSPORT_ERROR): (S.TERMINATED, (Act.REPORT_TRANSPORT_ERROR,)),
    (K.INVITE_SERVER, S.COMPLETED, In.REQUEST): (S.COMPLETED, (Act.RESEND_RESPONSE,)),
    (K.INVITE_SERVER, S.COMPLETED, In.TIMEOUT_G): (S.COMPLETED, (Act.RESEND_RESPONSE, Timer.G)),
    (K.INVITE_SERVER, S.COMPLETED, In.ACK): (S.CONFIRMED, (Timer.I,)),
    (K.INVITE_SERVER, S.COMPLETED, In.TIMEOUT_H): (S.TERMINATED, (Act.REPORT_TIMEOUT,)),
    (K.INVITE_SERVER, S.COMPLETED, In.TRANSPORT_ERROR): (S.TERMINATED, (Act.REPORT_TRANSPORT_ERROR,)),
    (K.INVITE_SERVER, S.CONFIRMED, In.REQUEST): (S.CONFIRMED, ()),
    (K.INVITE_SERVER, S.CONFIRMED, In.ACK): (S.CONFIRMED, ()),
    (K.INVITE_SERVER, S.CONFIRMED, In.TIMEOUT_I): (S.TERMINATED, ()),
    # RFC 6026: retransmitted INVITEs are absorbed, the TU's 2xx retransmissions pass through.
    (K.INVITE_SERVER, S.ACCEPTED, In.REQUEST): (S.ACCEPTED, ()),
    (K.INVITE_SERVER, S.ACCEPTED, In.SEND_2XX): (S.ACCEPTED, (Act.SEND_RESPONSE,)),
    (K.INVITE_SERVER, S.ACCEPTED, In.ACK): (S.ACCEPTED, (Act.PASS_UP,)),
    (K.INVITE_SERVER, S.ACCEPTED, In.TRANSPORT_ERROR): (S.ACCEPTED, ()),
    (K.INVITE_SERVER, S.ACCEPTED, In.TIMEOUT_L): (S.TERMINATED, ()),
    # non-INVITE server (Figure 8)
    (K.NON_INVITE_SERVER, S.TRYING, In.REQUEST): (S.TRYING, ()),
    (K.NON_INVITE_SERVER, S.TRYING, In.SEND_1XX): (S.PROCEEDING, (Act.SEND_RESPONSE,)),
    (K.NON_INVITE_SERVER, S.TRYING, In.SEND_2XX): (S.COMPLETED, (Act.SEND_RESPONSE, Timer.J)),
    (K.NON_INVITE_SERVER, S.TRYING, In.SEND_FINAL): (S.COMPLETED, (Act.SEND_RESPONSE, Timer.J)),
    (K.NON_INVITE_SERVER, S.TRYING, In.TRANSPORT_ERROR): (S.TERMINATED, (Act.REPORT_TRANSPORT_ERROR,)),
    (K.NON_INVITE_SERVER, S.PROCEEDING, In.REQUEST): (S.PROCEEDING, (Act.RESEND_RESPONSE,)),
    (K.NON_INVITE_SERVER, S.PROCEEDING, In.SEND_1XX): (S.PROCEEDING, (Act.SEND_RESPONSE,)),
    (K.NON_INVITE_SERVER, S.PROCEEDING, In.SEND_2XX): (S.COMPLETED, (Act.SEND_RESPONSE, Timer.J)),
    (K.NON_INVITE_SERVER, S.PROCEEDING, In.SEND_FINAL): (S.COMPLETED, (Act.SEND_RESPONSE, Timer.J)),
    (K.NON_INVITE_SERVER, S.PROCEEDING, In.TRANSPORT_ERROR): (S.TERMINATED, (Act.REPORT_TRANSPORT_ERROR,)),
    (K.NON_INVITE_SERVER, S.COMPLETED, In.REQUEST): (S.COMPLETED, (Act.RESEND_RESPONSE,)),
    (K.NON_INVITE_SERVER, S.COMPLETED, In.TIMEOUT_J): (S.TERMINATED, ()),
    (K.NON_INVITE_SERVER, S.COMPLETED, In.TRANSPORT_ERROR): (S.TERMINATED, (Act.REPORT_TRANSPORT_ERROR,)),
}

# Timers that survive entering a state; every other running timer is cancelled on a state change.
_STATE_TIMERS: dict[State, frozenset[Timer]] = {
    S.CALLING: frozenset({Timer.A, Timer.B}),
    S.TRYING: frozenset({Timer.E, Timer.F}),
    S.PROCEEDING: frozenset({Timer.C, Timer.E, Timer.F}),
    S.COMPLETED: frozenset({Timer.D, Timer.G, Timer.H, Timer.J, Timer.K}),
    S.CONFIRMED: frozenset({Timer.I}),
    S.ACCEPTED: frozenset({Timer.L, Timer.M}),
    S.TERMINATED: frozenset(),
}
# Retransmission timers: skipped on reliable transports (§17.1.1.2, §17.1.2.2, §17.2.1).
_RETRANSMIT = frozenset({Timer.A, Timer.E, Timer.G})
# Wait-for-stragglers timers: zero on reliable transports.
_ZERO_WHEN_RELIABLE = frozenset({Timer.D, Timer.I, Timer.J, Timer.K})


class TransactionOwner(Protocol):
    """What a transaction needs from its transaction user (the endpoint)."""

    def transmit(self, data: bytes, dest: Address, transport: str) -> None:
        """Queue ``data`` for sending to ``dest`` over ``transport``."""

    def transaction_response(self, tx: ClientTransaction, response: Response, now: float) -> None:
        """A client transaction passes a response up."""

    def transaction_ack(self, tx: ServerTransaction, ack: Request, now: float) -> None:
        """An INVITE server transaction in Accepted passes an ACK up."""

    def transaction_timeout(self, tx: Transaction, now: float) -> None:
        """Timer B, C, F or H fired."""

    def transaction_transport_error(self, tx: Transaction, now: float) -> None:
        """The transport reported that a message of this transaction could not be sent."""

    def transaction_terminated(self, tx: Transaction) -> None:
        """The transaction reached Terminated and can be forgotten."""

    def transaction_rescheduled(self, tx: Transaction) -> None:
        """The transaction's earliest deadline changed."""


def is_reliable(transport: str) -> bool:
    """True for connection-oriented transports, where SIP does not retransmit."""
    return transport.lower() in RELIABLE_TRANSPORTS


def server_key(request: Request) -> TransactionKey:
    """The §17.2.3 matching key of a request arriving at a server transaction.

    ACK is keyed as INVITE so it finds the INVITE transaction it acknowledges; CANCEL keeps its own
    method (it is its own transaction) -- :func:`cancelled_key` finds the INVITE it cancels.
    """
    via = request.top_via
    method = "INVITE" if request.method == "ACK" else request.method
    branch = via.branch
    if branch is not None and branch.startswith(MAGIC_COOKIE):
        return (branch, via.host.lower(), str(via.port or ""), method)
    # RFC 2543 peers: §17.2.3 falls back on Call-ID, From tag, CSeq number and the top Via. The To tag is
    # left out so an ACK (which carries our tag) still matches the INVITE (which did not).
    return ("2543", request.call_id, request.from_.tag or "", str(request.cseq.seq), str(via), method)


def cancelled_key(cancel_key: TransactionKey) -> TransactionKey:
    """The key of the INVITE server transaction a CANCEL with key ``cancel_key`` targets (§9.2)."""
    return (*cancel_key[:-1], "INVITE")


def client_key(branch: str, method: str) -> TransactionKey:
    """The §17.1.3 key of a client transaction: top Via branch and CSeq method."""
    return (branch, method)


def response_key(response: Response) -> TransactionKey:
    """The client transaction key a response matches."""
    return (response.top_via.branch or "", response.cseq.method)


class Transaction:
    """State shared by the four machines: the table interpreter and the timers."""

    __slots__ = (
        "kind",
        "key",
        "state",
        "dest",
        "transport",
        "reliable",
        "owner",
        "config",
        "_timers",
        "_intervals",
        "_deadline",
        "user_data",
        "__weakref__",
    )

    def __init__(
        self,
        kind: Kind,
        key: TransactionKey,
        state: State,
        dest: Address,
        transport: str,
        owner: TransactionOwner,
        config: TimerConfig,
    ) -> None:
        self.kind = kind
        self.key = key
        self.state = state
        self.dest = dest
        self.transport = transport
        self.reliable = is_reliable(transport)
        self.owner = owner
        self.config = config
        self._timers: dict[Timer, float] = {}
        self._intervals: dict[Timer, float] = {}
        self._deadline: float | None = None
        # the TU may hang its own object here (the endpoint keeps its call leg)
        self.user_data: object = None

    @property
    def deadline(self) -> float | None:
        """The earliest pending timer, or None."""
        return self._deadline

    @property
    def terminated(self) -> bool:
        """True once the transaction reached Terminated."""
        return self.state is State.TERMINATED

    def timer_running(self, timer: Timer) -> bool:
        """Whether ``timer`` is currently armed (for tests and diagnostics)."""
        return timer in self._timers

    def handle_timer(self, now: float) -> None:
        """Fire every timer whose deadline has passed, earliest first."""
        while self._timers and self.state is not State.TERMINATED:
            timer, when = min(self._timers.items(), key=lambda item: item[1])
            if when > now:
                break
            del self._timers[timer]
            self._feed(_TIMER_INPUT[timer], now, None)
        self._update_deadline()

    def transport_error(self, now: float) -> None:
        """The transport could not deliver a message of this transaction (§17.1.4, §17.2.4)."""
        self._feed(Input.TRANSPORT_ERROR, now, None)
        self._update_deadline()

    def terminate(self) -> None:
        """Force the transaction to Terminated (the TU gives up, e.g. a CANCEL that was never answered)."""
        if self.state is not State.TERMINATED:
            self._enter(State.TERMINATED)
            self._update_deadline()

    # -- the table interpreter ------------------------------------------------------------------

    def _feed(self, event: Input, now: float, message: Request | Response | None) -> None:
        entry = TRANSITIONS.get((self.kind, self.state, event))
        if entry is None:
            if event in (Input.SEND_1XX, Input.SEND_2XX, Input.SEND_FINAL):
                raise LocalProtocolError(f"cannot send a response in state {self.state.value} of {self.kind}")
            return  # inputs the machine ignores in this state (stray responses, late timers)
        next_state, actions = entry
        if next_state is not self.state:
            self._enter(next_state)
        for action in actions:
            if isinstance(action, Timer):
                self._start(action, now)
            else:
                self._act(action, now, message)
        if self.state is State.TERMINATED:
            self._timers.clear()

    def _enter(self, state: State) -> None:
        self.state = state
        keep = _STATE_TIMERS[state]
        for timer in [t for t in self._timers if t not in keep]:
            del self._timers[timer]
        if state is State.TERMINATED:
            self.owner.transaction_terminated(self)

    def _start(self, timer: Timer, now: float) -> None:
        if self.reliable and timer in _RETRANSMIT:
            return
        duration = self._duration(timer)
        if duration <= 0.0:
            # reliable transports: Timers D/I/J/K are zero, so the machine moves on right away
            self._feed(_TIMER_INPUT[timer], now, None)
            return
        self._timers[timer] = now + duration

    def _duration(self, timer: Timer) -> float:
        cfg = self.config
        if timer in _RETRANSMIT:
            previous = self._intervals.get(timer)
            if previous is None:
                # Timer E in Proceeding restarts at T2 (§17.1.2.2)
                interval = cfg.t2 if (timer is Timer.E and self.state is State.PROCEEDING) else cfg.t1
            elif timer is Timer.A:
                interval = previous * 2
            elif self.state is State.PROCEEDING:
                interval = cfg.t2
            else:
                interval = min(previous * 2, cfg.t2)
            self._intervals[timer] = interval
            return interval
        if timer in _ZERO_WHEN_RELIABLE and self.reliable:
            return 0.0
        if timer is Timer.D:
            return max(32.0, 64 * cfg.t1)
        if timer in (Timer.I, Timer.K):
            return cfg.t4
        if timer is Timer.C:
            return cfg.timer_c
        return 64 * cfg.t1  # B, F, H, J, L, M

    def _act(self, action: Act, now: float, message: Request | Response | None) -> None:
        raise NotImplementedError

    def _update_deadline(self) -> None:
        deadline = min(self._timers.values()) if self._timers else None
        if deadline != self._deadline:
            self._deadline = deadline
            if deadline is not None:
                self.owner.transaction_rescheduled(self)


class ClientTransaction(Transaction):
    """An INVITE or non-INVITE client transaction; create it with :meth:`start`."""

    __slots__ = ("request", "request_bytes", "ack_bytes", "last_response")

    def __init__(
        self,
        request: Request,
        dest: Address,
        transport: str,
        owner: TransactionOwner,
        config: TimerConfig | None = None,
    ) -> None:
        invite = request.method == "INVITE"
        if request.method == "ACK":
            raise LocalProtocolError("ACK is not sent in a client transaction")
        branch = request.top_via.branch
        if branch is None:
            raise LocalProtocolError("client request without a Via branch")
        super().__init__(
            Kind.INVITE_CLIENT if invite else Kind.NON_INVITE_CLIENT,
            client_key(branch, request.method),
            State.CALLING if invite else State.TRYING,
            dest,
            transport,
            owner,
            config or TimerConfig(),
        )
        self.request = request
        self.request_bytes = request.to_bytes()
        self.ack_bytes: bytes | None = None
        self.last_response: Response | None = None

    def start(self, now: float) -> None:
        """Send the request and arm the initial timers (A and B, or E and F)."""
        self.owner.transmit(self.request_bytes, self.dest, self.transport)
        if self.kind is Kind.INVITE_CLIENT:
            self._start(Timer.A, now)
            self._start(Timer.B, now)
        else:
            self._start(Timer.E, now)
            self._start(Timer.F, now)
        self._update_deadline()

    def receive_response(self, response: Response, now: float) -> None:
        """Feed a response whose key matched this transaction."""
        status = response.status
        if status < 200:
            event = Input.RECV_1XX
        elif status < 300:
            event = Input.RECV_2XX
        else:
            event = Input.RECV_FINAL
        self._feed(event, now, response)
        self._update_deadline()

    def _act(self, action: Act, now: float, message: Request | Response | None) -> None:
        owner = self.owner
        if action is Act.SEND_REQUEST:
            owner.transmit(self.request_bytes, self.dest, self.transport)
        elif action is Act.PASS_UP:
            assert isinstance(message, Response)
            self.last_response = message
            owner.transaction_response(self, message, now)
        elif action is Act.SEND_ACK:
            assert isinstance(message, Response)
            if self.ack_bytes is None:
                self.ack_bytes = build_non2xx_ack(self.request, message).to_bytes()
            owner.transmit(self.ack_bytes, self.dest, self.transport)
        elif action is Act.REPORT_TIMEOUT:
            owner.transaction_timeout(self, now)
        elif action is Act.REPORT_TRANSPORT_ERROR:
            owner.transaction_transport_error(self, now)


class ServerTransaction(Transaction):
    """An INVITE or non-INVITE server transaction, created when a new request arrives.

    Once the final response is sent the transaction keeps only what absorbing retransmissions needs
    (key, destination, the response bytes): the request, the response object and ``user_data`` are let
    go. At thousands of calls per second, transactions linger 32 s in Completed/Accepted, and holding
    every parsed message that long would cost gigabytes and slow the garbage collector.
    """

    __slots__ = ("_request", "method", "cseq_seq", "merge_key", "last_status", "_last_bytes")

    def __init__(
        self,
        request: Request,
        key: TransactionKey,
        dest: Address,
        transport: str,
        owner: TransactionOwner,
        config: TimerConfig | None = None,
    ) -> None:
        invite = request.method == "INVITE"
        super().__init__(
            Kind.INVITE_SERVER if invite else Kind.NON_INVITE_SERVER,
            key,
            State.PROCEEDING if invite else State.TRYING,
            dest,
            transport,
            owner,
            config or TimerConfig(),
        )
        self._request: Request | None = request
        self.method = request.method
        self.cseq_seq = request.cseq.seq
        # §8.2.2.2 merged-request identity, kept for the TU after the request itself is released
        self.merge_key: tuple[str, str, int] | None = None
        self.last_status: int | None = None
        self._last_bytes: bytes | None = None

    @property
    def request(self) -> Request:
        """The request that created the transaction; gone once the final response was sent."""
        if self._request is None:
            raise LocalProtocolError("the request is released once a final response has been sent")
        return self._request

    def respond(self, response: Response, now: float) -> None:
        """Send the TU's response through the state machine.

        Raises ``LocalProtocolError`` when the state does not allow it (a second final response).
        """
        status = response.status
        if status < 200:
            event = Input.SEND_1XX
        elif status < 300:
            event = Input.SEND_2XX
        else:
            event = Input.SEND_FINAL
        self._feed(event, now, response)
        if status >= 200:
            self._request = None
            self.user_data = None
        self._update_deadline()

    def receive_request(self, request: Request, now: float) -> None:
        """Feed a retransmission of the request, or the ACK of an INVITE, that matched this key."""
        self._feed(Input.ACK if request.method == "ACK" else Input.REQUEST, now, request)
        self._update_deadline()

    @property
    def last_response_bytes(self) -> bytes | None:
        """The serialised last response (what a retransmission re-sends)."""
        return self._last_bytes

    @property
    def final_sent(self) -> bool:
        """Whether a final response has been sent."""
        return self.last_status is not None and self.last_status >= 200

    def _act(self, action: Act, now: float, message: Request | Response | None) -> None:
        owner = self.owner
        if action is Act.SEND_RESPONSE:
            assert isinstance(message, Response)
            self.last_status = message.status
            self._last_bytes = message.to_bytes()
            owner.transmit(self._last_bytes, self.dest, self.transport)
        elif action is Act.RESEND_RESPONSE:
            if self._last_bytes is not None:
                owner.transmit(self._last_bytes, self.dest, self.transport)
        elif action is Act.PASS_UP:
            assert isinstance(message, Request)
            owner.transaction_ack(self, message, now)
        elif action is Act.REPORT_TIMEOUT:
            owner.transaction_timeout(self, now)
        elif action is Act.REPORT_TRANSPORT_ERROR:
            owner.transaction_transport_error(self, now)


def build_non2xx_ack(invite: Request, response: Response) -> Request:
    """The ACK an INVITE client transaction sends for a 300-699 response (§17.1.1.3).

    Same Request-URI, Call-ID, From, CSeq number and the INVITE's top Via only; the To of the response
    (with its tag) and the INVITE's Route headers.
    """
    headers = Headers()
    headers.add("Via", invite.headers.get_all("Via")[0])
    headers.add("Max-Forwards", "70")
    for route in invite.headers.get_all("Route"):
        headers.add("Route", route)
    headers.add("From", invite.headers.get("From") or "")
    headers.add("To", response.headers.get("To") or "")
    headers.add("Call-ID", invite.call_id)
    headers.add("CSeq", f"{invite.cseq.seq} ACK")
    return Request("ACK", invite.uri, headers)


class Timed(Protocol):
    """Anything with a deadline the endpoint's heap can wake up."""

    @property
    def deadline(self) -> float | None: ...

    def handle_timer(self, now: float) -> None: ...


COMPACT_MIN = 4096
"""Heap entries below which :class:`TimerHeap` never bothers to drop stale ones."""


def _is_live(entry: tuple[float, int, weakref.ref[Timed]]) -> bool:
    obj = entry[2]()
    return obj is not None and obj.deadline == entry[0]


class TimerHeap:
    """One heap for all timers of an endpoint, with lazy removal.

    ``schedule(obj)`` is called whenever ``obj.deadline`` may have changed; stale entries are skipped when
    they reach the top, so cancelling a timer costs nothing. Entries hold weak references: a call that
    ended with a session timer 15 minutes away must not stay in memory until then.

    A stale entry far in the future would still sit in the heap until its time (every call leaves one
    for its session refresh, 15 minutes ahead: at thousands of calls per second millions of entries, each
    push a level deeper). So when the heap has doubled since it was last cleaned, the stale entries are
    dropped in one pass: amortised O(1) per push, and the heap stays within twice the live timers.
    """

    __slots__ = ("_heap", "_counter", "_compact_at")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, weakref.ref[Timed]]] = []
        self._counter = 0
        self._compact_at = COMPACT_MIN

    def __len__(self) -> int:
        return len(self._heap)

    def schedule(self, obj: Timed) -> None:
        """Make sure ``obj`` is woken at its current deadline (``obj`` must support weak references)."""
        deadline = obj.deadline
        if deadline is not None:
            self._counter += 1
            heapq.heappush(self._heap, (deadline, self._counter, weakref.ref(obj)))
            if len(self._heap) >= self._compact_at:
                self._compact()

    def _compact(self) -> None:
        live = [entry for entry in self._heap if _is_live(entry)]
        heapq.heapify(live)
        self._heap = live
        self._compact_at = max(COMPACT_MIN, 2 * len(live))

    def earliest(self) -> float | None:
        """The earliest live deadline, dropping stale entries on the way."""
        heap = self._heap
        while heap:
            when, _, ref = heap[0]
            obj = ref()
            if obj is not None and obj.deadline == when:
                return when
            heapq.heappop(heap)
        return None

    def pop_due(self, now: float) -> list[Timed]:
        """Remove and return the objects whose entry is due at ``now`` (each once)."""
        heap = self._heap
        due: list[Timed] = []
        seen: set[int] = set()
        while heap and heap[0][0] <= now:
            when, _, ref = heapq.heappop(heap)
            obj = ref()
            if obj is not None and obj.deadline == when and id(obj) not in seen:
                seen.add(id(obj))
                due.append(obj)
        return due
