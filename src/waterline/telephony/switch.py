"""Call control glue: what the engine does with the SIP endpoint's events.

Until the call-control layer (``waterline.calls``) lands, the switch knows a few test extensions:
the diagnostic services of :mod:`waterline.telephony.services` (``*43`` echo test, and when enabled
``bench-play`` and ``bench-record``) are answered with an SDP answer on a real media session;
``*41`` (ring test) rings and never answers, so a caller can exercise CANCEL; it gives up with 480
after :data:`RING_LIMIT` seconds. Every other number gets 404, and 503 when no RTP port is free.
Calls, digits and registrations are written to the :class:`~waterline.telephony.journal.Journal`
for later issues to consume; a call's media quality figures go into its ``call_ended`` line.

Without a :class:`~waterline.telephony.media.MediaEngine` (unit tests of the SIP side) ``*43`` is
answered with an SDP answer naming a port that nobody reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from waterline.sip import events as ev
from waterline.sip.sdp import (
    AnswerCache,
    Negotiated,
    SdpError,
    SessionDescription,
    accept_answer,
    build_offer,
    parse_sdp,
)
from waterline.telephony.callflow import FlowHost
from waterline.telephony.hub import Address
from waterline.telephony.journal import Journal, JournalValue
from waterline.telephony.media import MediaEngine, MediaSession, law_for_codec
from waterline.telephony.services import Diagnostics

_log = logging.getLogger(__name__)

ECHO_EXTENSION = "*43"
RING_EXTENSION = "*41"
RING_LIMIT = 60.0
"""Seconds the ring test extension rings before answering 480 (a caller that vanished without CANCEL)."""
MEDIA_PORTS = (20000, 30000)
"""Even RTP ports advertised in answers when the switch runs without a media engine."""


def _where(addr: Address) -> str:
    return f"{addr[0]}:{addr[1]}"


class LegTaker(Protocol):
    """Outgoing legs (a flow's transfers): they take the endpoint events about their own legs."""

    def handle(self, event: object) -> bool: ...


class AgentCallTaker(Protocol):
    """Authenticated agents' calls: feature codes and outbound refusals (``telephony.agentcalls``)."""

    def is_feature(self, user: str, number: str, *, leg: str) -> bool: ...

    def refuses(self, user: str, number: str, *, leg: str, call_id: str) -> bool: ...

    def wants(self, leg: str) -> bool: ...

    def start(self, leg: str, session: MediaSession) -> None: ...

    def end(self, leg: str) -> None: ...


class CommandTaker(Protocol):
    """The endpoint as the switch sees it: it takes commands."""

    def send(self, command: ev.Command, now: float) -> str | None: ...


@dataclass(slots=True)
class _Call:
    call_id: str
    number: str
    caller: str
    started: float  # monotonic loop time
    session_id: str
    version: int
    media_port: int
    answered: bool
    ring_deadline: float | None
    session: MediaSession | None = None
    offer: SessionDescription | None = None  # ours, when the INVITE had none (late offer, answer in ACK)


class Switch:
    """Reacts to endpoint events by sending commands back, and journals what happened."""

    def __init__(
        self,
        endpoint: CommandTaker,
        journal: Journal,
        clock: Callable[[], float],
        *,
        media_ip: str = "127.0.0.1",
        media: MediaEngine | None = None,
        diagnostics: Diagnostics | None = None,
        flows: FlowHost | None = None,
    ) -> None:
        """``media`` binds real RTP sessions for answered calls; ``diagnostics`` runs the test services
        on them (without it only ``*43`` is answered, and its media is left alone); ``flows`` runs the
        call flow of each DID it knows."""
        self._endpoint = endpoint
        self._journal = journal
        self._clock = clock
        self._media_ip = media_ip
        self._answers = AnswerCache(local_ip=media_ip)
        self._media = media
        self._diagnostics = diagnostics
        self.flows = flows
        self.transfers: LegTaker | None = None
        self.agent_calls: AgentCallTaker | None = None
        self.on_reoffer: Callable[[str, bytes], None] | None = None
        """Told of a caller's re-INVITE once answered (``telephony.hold`` passes a hold to the agent)."""
        self._calls: dict[str, _Call] = {}
        self._next_port = MEDIA_PORTS[0]
        self._sessions = 0
        self.calls_total = 0
        self.refused = 0
        self.refused_by_status: dict[int, int] = {}

    @property
    def active_calls(self) -> int:
        """Calls ringing or answered and not yet ended."""
        return len(self._calls)

    def set_local_address(self, host: str, port: int) -> None:
        """Tell the switch where the engine listens; the SDP answers advertise that host."""
        if host not in ("0.0.0.0", "::", ""):
            self._media_ip = host

    def handle(self, event: object, now: float) -> None:
        """Act on one endpoint event; ``now`` is the loop's monotonic time."""
        transfers = self.transfers
        if transfers is not None and transfers.handle(event):
            return
        if isinstance(event, ev.IncomingCall):
            self._incoming(event, now)
        elif isinstance(event, ev.CallEnded):
            self._ended(event, now)
        elif isinstance(event, ev.Reinvited):
            self._reinvited(event, now)
        elif isinstance(event, ev.CallConfirmed):
            self._confirmed(event)
        elif isinstance(event, ev.Registered):
            self._journal.write(
                "registered", self._clock(), aor=event.aor, contacts=" ".join(event.contacts),
                expires=event.expires, source=_where(event.source), transport=event.transport,
            )
        elif isinstance(event, ev.Unregistered):
            self._journal.write(
                "unregistered", self._clock(), aor=event.aor, source=_where(event.source)
            )
        elif isinstance(event, ev.DtmfReceived):
            call = self._calls.get(event.call)
            if call is not None and call.session is not None:
                call.session.digit(event.digit, "info")  # its digit handler journals it
            else:
                self._journal.write("dtmf", self._clock(), call=event.call,
                                    call_id=call.call_id if call else None, digit=event.digit, via="info")
        elif isinstance(event, ev.ReferReceived):
            # only an ACD agent's leg can be transferred (the distributor took those): refuse the rest
            self._endpoint.send(ev.RejectRefer(event.call, 403, "Transfer Not Allowed"), now)
        elif isinstance(event, ev.RequestRefused):
            # Counted, not journalled: a flood of junk must not turn into a flood of log lines.
            self.refused += 1
            self.refused_by_status[event.status] = self.refused_by_status.get(event.status, 0) + 1

    def expire(self, now: float) -> None:
        """Give up ringing calls whose ring limit has passed (the engine calls this periodically)."""
        expired = [
            leg for leg, call in self._calls.items()
            if call.ring_deadline is not None and call.ring_deadline <= now
        ]
        for leg in expired:
            self._endpoint.send(ev.Reject(leg, 480, "Temporarily Unavailable"), now)


    def hangup(self, leg: str, now: float) -> bool:
        """End one call from our side (a service finished); False when the leg is not ours any more."""
        if leg not in self._calls:
            return False
        self._endpoint.send(ev.Hangup(leg), now)
        return True

    def hangup_all(self, now: float) -> int:
        """End every call (BYE, CANCEL or a final response, as each leg's state needs); returns how many.

        Used when the engine stops, so callers are not left in a silent call until their own timers
        notice. The calls stay tracked until the endpoint reports them ended.
        """
        legs = list(self._calls)
        for leg in legs:
            self._endpoint.send(ev.Hangup(leg), now)
        return len(legs)

    def close_media(self) -> int:
        """Close the media of every call still tracked and end its service (recordings are finished,
        not left for the next start's recovery); returns how many. Last step of an engine stop."""
        closed = 0
        for leg, call in self._calls.items():
            if call.session is not None and not call.session.closed:
                call.session.close()
                closed += 1
            if self._diagnostics is not None:
                self._diagnostics.end(leg)
            if self.flows is not None:
                self.flows.end(leg)
        return closed

    # ------------------------------------------------------------------ events

    def _incoming(self, event: ev.IncomingCall, now: float) -> None:
        number = event.request_user or ""
        diagnostics = self._diagnostics
        user = event.authenticated_user
        agent_calls = self.agent_calls if user is not None else None
        if user is not None and agent_calls is not None and agent_calls.is_feature(
                user, number, leg=event.call):
            self._answer_service(event, now, number)
        elif diagnostics.accepts(number) if diagnostics is not None else number == ECHO_EXTENSION:
            self._answer_service(event, now, number)
        elif self.flows is not None and self.flows.accepts(number):
            refused = self.flows.prepare(event.call, event.call_id, number, event.from_uri)
            if refused is None:
                self._answer_service(event, now, number)
            else:
                self._refuse(event, now, 403, "Forbidden")
        elif number == RING_EXTENSION:
            self._track(event, now, self._allocate_port(), answered=False, ring_deadline=now + RING_LIMIT)
            self._endpoint.send(ev.Ring(event.call), now)
            self._journal.write(
                "call_ringing", self._clock(), call=event.call, call_id=event.call_id, number=number,
                caller=event.from_uri, source=_where(event.source), transport=event.transport,
            )
        elif agent_calls is not None and user is not None and agent_calls.refuses(
                user, number, leg=event.call, call_id=event.call_id):
            self._refuse(event, now, 403, "Forbidden")  # toll-fraud guard: an agent dialling out
        else:
            self._refuse(event, now, 404, "Not Found")

    def _answer_service(self, event: ev.IncomingCall, now: float, number: str) -> None:
        session = None
        if self._media is not None:
            session = self._media.open(event.call)
            if session is None:
                self._refuse(event, now, 503, "Service Unavailable")  # every RTP port is in use
                if self.flows is not None:
                    self.flows.end(event.call)
                return
        port = session.port if session is not None else self._allocate_port()
        answer = self._answer_sdp(event.sdp_offer, session_id=self._new_session(), version=1, port=port)
        if answer is None:
            if session is not None:
                session.close()
            self._refuse(event, now, 488, "Not Acceptable Here")
            if self.flows is not None:
                self.flows.end(event.call)
            return
        body, negotiated, our_offer = answer
        call = self._track(event, now, port, answered=True, ring_deadline=None)
        call.session = session
        call.offer = our_offer
        self._endpoint.send(ev.Answer(event.call, body), now)
        self._journal.write(
            "call_answered", self._clock(), call=event.call, call_id=event.call_id, number=number,
            caller=event.from_uri, source=_where(event.source), transport=event.transport,
            media_port=call.media_port,
        )
        if session is None:
            return
        if negotiated is not None:
            self._configure(session, negotiated)
        session.on_digit = self._digit_handler(event.call, event.call_id)
        flows = self.flows
        if flows is not None and flows.get(event.call) is not None:
            flows.attach(event.call, session)
        elif self.agent_calls is not None and self.agent_calls.wants(event.call):
            self.agent_calls.start(event.call, session)
        elif self._diagnostics is not None:
            self._diagnostics.start(event.call, event.call_id, number, session)

    def _digit_handler(self, leg: str, call_id: str) -> Callable[[str, str], None]:
        def journal_digit(digit: str, via: str) -> None:
            self._journal.write("dtmf", self._clock(), call=leg, call_id=call_id, digit=digit, via=via)
            if self.flows is not None:
                self.flows.digit(leg, digit)

        return journal_digit

    def _configure(self, session: MediaSession, negotiated: Negotiated) -> None:
        law = law_for_codec(negotiated.codec)
        if law is None:
            return  # answer_offer only accepts G.711 here; anything else is a bug upstream
        session.configure(law, negotiated.payload_type, negotiated.dtmf_payload_type,
                          (negotiated.remote_address, negotiated.remote_port),
                          sends=negotiated.direction.sends)

    def _confirmed(self, event: ev.CallConfirmed) -> None:
        call = self._calls.get(event.call)
        if call is None or call.session is None or call.offer is None or not event.sdp:
            return
        try:
            negotiated = accept_answer(call.offer, parse_sdp(event.sdp))
        except SdpError:
            return  # a useless answer in the ACK: the session latches to whatever the caller sends
        self._configure(call.session, negotiated)

    def _refuse(self, event: ev.IncomingCall, now: float, status: int, reason: str) -> None:
        self._endpoint.send(ev.Reject(event.call, status, reason), now)
        self._journal.write(
            "call_rejected", self._clock(), call=event.call, call_id=event.call_id,
            number=event.request_user, caller=event.from_uri, status=status,
            source=_where(event.source), transport=event.transport,
        )

    def _ended(self, event: ev.CallEnded, now: float) -> None:
        call = self._calls.pop(event.call, None)
        if call is None:
            return  # a leg we refused: already journalled as call_rejected
        extra: dict[str, JournalValue] = {}
        if call.session is not None:
            extra.update(call.session.close().as_fields())
        if self._diagnostics is not None:
            extra.update(self._diagnostics.end(event.call))
        if self.flows is not None:
            extra.update(self.flows.end(event.call))
        if self.agent_calls is not None:
            self.agent_calls.end(event.call)
        self._journal.write(
            "call_ended", self._clock(), call=event.call, call_id=call.call_id, number=call.number,
            reason=event.reason, status=event.status, answered=call.answered,
            duration=round(now - call.started, 3), **extra,
        )

    def _reinvited(self, event: ev.Reinvited, now: float) -> None:
        call = self._calls.get(event.call)
        if call is None:
            self._endpoint.send(ev.Reject(event.call, 481, "Call/Transaction Does Not Exist"), now)
            return
        call.version += 1
        sdp = self._answer_sdp(event.sdp_offer, session_id=call.session_id, version=call.version,
                               port=call.media_port)
        if sdp is None:
            self._endpoint.send(ev.Reject(event.call, 488, "Not Acceptable Here"), now)
            return
        self._endpoint.send(ev.Answer(event.call, sdp[0]), now)
        if call.session is not None and sdp[1] is not None:
            self._configure(call.session, sdp[1])
        self._journal.write("call_held" if event.on_hold else "call_resumed", self._clock(), call=event.call,
                            call_id=call.call_id)
        if self.on_reoffer is not None:
            self.on_reoffer(event.call, event.sdp_offer)

    # ------------------------------------------------------------------ helpers

    def _track(
        self, event: ev.IncomingCall, now: float, port: int, *, answered: bool, ring_deadline: float | None
    ) -> _Call:
        call = _Call(
            call_id=event.call_id, number=event.request_user or "", caller=event.from_uri, started=now,
            session_id=str(self._sessions), version=1, media_port=port, answered=answered,
            ring_deadline=ring_deadline,
        )
        self._calls[event.call] = call
        self.calls_total += 1
        return call

    def _new_session(self) -> str:
        self._sessions += 1
        return str(self._sessions)

    def _allocate_port(self) -> int:
        port = self._next_port
        self._next_port = port + 2 if port + 2 < MEDIA_PORTS[1] else MEDIA_PORTS[0]
        return port

    def _answer_sdp(
        self, offer_bytes: bytes | None, *, session_id: str, version: int, port: int
    ) -> tuple[bytes, Negotiated | None, SessionDescription | None] | None:
        """Our SDP for an offer, with the negotiated stream; for a late-offer INVITE without SDP, our own
        offer (returned too: the answer comes in the ACK)."""
        if not offer_bytes:
            offer = build_offer(local_ip=self._media_ip, local_port=port, session_id=session_id,
                                session_version=version)
            return offer.to_bytes(), None, offer
        answers = self._answers
        if answers.local_ip != self._media_ip:  # the engine learnt its bound address after start
            answers = self._answers = AnswerCache(local_ip=self._media_ip)
        try:
            # every call of a given phone model offers the same SDP but for o=, address and port
            body, negotiated = answers.answer(offer_bytes, local_port=port, session_id=session_id,
                                              session_version=version)
        except SdpError:
            return None
        return body, negotiated, None
