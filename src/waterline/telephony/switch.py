"""Call control glue for issue 3: what the engine does with the SIP endpoint's events.

Until the call-control layer (``waterline.calls``) and media land, the switch knows two test
extensions: ``*43`` (echo test) answers 200 OK with an SDP answer and waits for the caller's BYE,
``*41`` (ring test) rings and never answers, so a caller can exercise CANCEL; it gives up with 480
after :data:`RING_LIMIT` seconds. Every other number gets 404. Calls and registrations are written
to the :class:`~waterline.telephony.journal.Journal` for later issues to consume.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from waterline.sip import events as ev
from waterline.sip.sdp import SdpError, SessionDescription, answer_offer, build_offer, parse_sdp
from waterline.telephony.hub import Address
from waterline.telephony.journal import Journal

_log = logging.getLogger(__name__)

ECHO_EXTENSION = "*43"
RING_EXTENSION = "*41"
RING_LIMIT = 60.0
"""Seconds the ring test extension rings before answering 480 (a caller that vanished without CANCEL)."""
MEDIA_PORTS = (20000, 30000)
"""Even RTP ports advertised in answers, until the media issue binds real ones."""


def _where(addr: Address) -> str:
    return f"{addr[0]}:{addr[1]}"


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


class Switch:
    """Reacts to endpoint events by sending commands back, and journals what happened."""

    def __init__(
        self,
        endpoint: CommandTaker,
        journal: Journal,
        clock: Callable[[], float],
        *,
        media_ip: str = "127.0.0.1",
    ) -> None:
        self._endpoint = endpoint
        self._journal = journal
        self._clock = clock
        self._media_ip = media_ip
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
        if isinstance(event, ev.IncomingCall):
            self._incoming(event, now)
        elif isinstance(event, ev.CallEnded):
            self._ended(event, now)
        elif isinstance(event, ev.Reinvited):
            self._reinvited(event, now)
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
            self._journal.write("dtmf", self._clock(), call=event.call, digit=event.digit)
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


    def hangup_all(self, now: float) -> int:
        """End every call (BYE, CANCEL or a final response, as each leg's state needs); returns how many.

        Used when the engine stops, so callers are not left in a silent call until their own timers
        notice. The calls stay tracked until the endpoint reports them ended.
        """
        legs = list(self._calls)
        for leg in legs:
            self._endpoint.send(ev.Hangup(leg), now)
        return len(legs)

    # ------------------------------------------------------------------ events

    def _incoming(self, event: ev.IncomingCall, now: float) -> None:
        number = event.request_user or ""
        if number == ECHO_EXTENSION:
            sdp = self._answer_sdp(event.sdp_offer, session_id=self._new_session(), version=1, port=None)
            if sdp is None:
                self._refuse(event, now, 488, "Not Acceptable Here")
                return
            body, port = sdp
            call = self._track(event, now, port, answered=True, ring_deadline=None)
            self._endpoint.send(ev.Answer(event.call, body), now)
            self._journal.write(
                "call_answered", self._clock(), call=event.call, call_id=event.call_id, number=number,
                caller=event.from_uri, source=_where(event.source), transport=event.transport,
                media_port=call.media_port,
            )
        elif number == RING_EXTENSION:
            self._track(event, now, self._allocate_port(), answered=False, ring_deadline=now + RING_LIMIT)
            self._endpoint.send(ev.Ring(event.call), now)
            self._journal.write(
                "call_ringing", self._clock(), call=event.call, call_id=event.call_id, number=number,
                caller=event.from_uri, source=_where(event.source), transport=event.transport,
            )
        else:
            self._refuse(event, now, 404, "Not Found")

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
        self._journal.write(
            "call_ended", self._clock(), call=event.call, call_id=call.call_id, number=call.number,
            reason=event.reason, status=event.status, answered=call.answered,
            duration=round(now - call.started, 3),
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
        self._journal.write("call_held" if event.on_hold else "call_resumed", self._clock(), call=event.call,
                            call_id=call.call_id)

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
        self, offer_bytes: bytes | None, *, session_id: str, version: int, port: int | None
    ) -> tuple[bytes, int] | None:
        """Our SDP for an offer (or, for a late-offer INVITE without SDP, our own offer)."""
        media_port = port if port is not None else self._allocate_port()
        if not offer_bytes:
            offer = build_offer(local_ip=self._media_ip, local_port=media_port, session_id=session_id,
                                session_version=version)
            return offer.to_bytes(), media_port
        try:
            parsed: SessionDescription = parse_sdp(offer_bytes)
            answer, _ = answer_offer(parsed, local_ip=self._media_ip, local_port=media_port,
                                     session_id=session_id, session_version=version)
        except SdpError:
            return None
        return answer.to_bytes(), media_port
