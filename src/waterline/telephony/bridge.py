"""Outgoing legs of a flow's transfer, bridged to the caller (the first piece of the B2BUA).

A flow's ``transfer`` node (or a ``queue`` node's fallback forward) asks :class:`Transfers` to
connect its caller to a target. The target is resolved by the
:class:`~waterline.telephony.transfer.TransferPolicy` (registered agent or allowed number through the
trunk; anything else is refused and journaled). Then, on a new media session of its own, the other
leg is dialled with an SDP offer (``Dial``, digest answered by the endpoint for a trunk that
challenges). It rings for :data:`RING_TIMEOUT` seconds at most (then CANCEL: the far end answers 487).

On 2xx (the endpoint ACKs) the answer configures the leg's media and the two sessions are bridged
through :class:`~waterline.telephony.relay.Relay`: each datagram of one leg goes to the other as it
arrives, transcoded PCMU↔PCMA when the legs differ, RFC 4733 events given the other leg's payload
type. The call's recording goes on through the relay's tap: caller left, other side right (in the
caller's law, as the recording was opened).

Either side's BYE ends the bridge: the caller's (:meth:`Transfers.stop`) hangs up the other leg;
the other leg's end reports back with ``done(ok, talk_seconds)``: ``ok`` when it had answered, so
the flow goes on (a survey) or hangs up. Every outgoing leg is journaled.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from waterline.config import Settings
from waterline.rtp.g711 import Law
from waterline.sip import events as ev
from waterline.sip.sdp import Negotiated, SdpError, SessionDescription, accept_answer, build_offer, parse_sdp
from waterline.telephony.callflow import Handle
from waterline.telephony.journal import Journal
from waterline.telephony.media import Feed, MediaStats, law_for_codec
from waterline.telephony.relay import LegFormat, Relay
from waterline.telephony.transfer import Destination, Refusal, TransferPolicy, Trunk

if TYPE_CHECKING:
    from waterline.telephony.hold import HoldState

__all__ = ["RING_TIMEOUT", "BridgedSession", "Media", "Recorder", "TransferDone", "Transfers",
           "bridge_media", "configure_answer", "policy_from_settings"]

_log = logging.getLogger(__name__)

RING_TIMEOUT = 30.0
"""Seconds the other leg may ring before we give up (CANCEL) and the flow takes its failure branch."""

TransferDone = Callable[[bool, float], None]
"""``done(ok, talk_seconds)``: the other leg ended after an answer (ok) or failed."""


class BridgedSession(Protocol):
    """What the bridge needs of a leg's media (a :class:`~waterline.telephony.media.MediaSession`)."""

    port: int
    law: Law
    dtmf_payload_type: int | None
    forward: Callable[[bytes, float], None] | None

    def configure(self, law: Law, payload_type: int, dtmf_payload_type: int | None,
                  remote: tuple[str, int] | None, *, sends: bool = True) -> None: ...

    def play(self, feed: Feed | None) -> None: ...

    def send_raw(self, datagram: bytes) -> None: ...

    def close(self) -> MediaStats: ...


class Media(Protocol):
    """The engine's media sessions by leg (a :class:`~waterline.telephony.media.MediaEngine`)."""

    def open(self, call: str) -> BridgedSession | None: ...

    def get(self, call: str) -> BridgedSession | None: ...


class Recorder(Protocol):
    """What the bridge needs of the call's recorder (``CallRecorder`` fits)."""

    def write_a(self, frame: bytes | None) -> None: ...

    def write_b(self, frame: bytes | None) -> None: ...

    def align(self) -> None: ...


class _Tap:
    """The relay's recording tap: the other side's frames converted into the recording's law."""

    __slots__ = ("law", "other", "recorder")

    def __init__(self, recorder: Recorder, law: Law, other: Law) -> None:
        self.recorder = recorder
        self.law = law  # the recording's right channel, opened in the caller's law
        self.other = other

    def write_a(self, frame: bytes | None) -> None:
        self.recorder.write_a(frame)

    def write_b(self, frame: bytes | None) -> None:
        if frame is not None and self.other is not self.law:
            frame = self.other.transcode_to(self.law, frame)
        self.recorder.write_b(frame)


@dataclass(slots=True)
class _Leg:
    caller_leg: str
    caller: BridgedSession
    destination: Destination
    session: BridgedSession
    offer: SessionDescription
    done: TransferDone
    recorder: Recorder | None
    leg: str | None = None
    answered_at: float | None = None
    timer: Handle | None = None
    relay: Relay | None = field(default=None, repr=False)
    version: int = 1  # of our SDP on this leg (a hold re-INVITE raises it)
    hold: HoldState | None = None  # the caller's hold passed through (telephony.hold)

    @property
    def sip(self) -> str | None:
        """The endpoint's id of this leg."""
        return self.leg


class Transfers:
    """Every transfer of one engine: outgoing legs by caller leg and by their own leg id."""

    def __init__(self, *, send: Callable[[ev.Command], str | None], media: Media,
                 policy: TransferPolicy, journal: Journal,
                 call_later: Callable[[float, Callable[[], object]], Handle],
                 clock: Callable[[], float], wallclock: Callable[[], float], rng: random.Random,
                 media_ip: Callable[[], str], ring_timeout: float = RING_TIMEOUT) -> None:
        """``send`` hands a command to the endpoint (and gets its datagrams out); ``clock`` is the media
        clock (the sessions' receive time), ``wallclock`` the journal's; ``media_ip`` the address our
        SDP offers name."""
        self.send = send
        self.media = media
        self.policy = policy
        self.journal = journal
        self.call_later = call_later
        self.clock = clock
        self.wallclock = wallclock
        self.rng = rng
        self.media_ip = media_ip
        self.ring_timeout = ring_timeout
        self._by_caller: dict[str, _Leg] = {}
        self._by_leg: dict[str, _Leg] = {}
        self._sessions = 0
        self.refused = 0
        self.on_reinvite_answered: Callable[[_Leg, ev.ReinviteAnswered], None] | None = None
        """Told of the answers to our own re-INVITEs on these legs (the caller's hold passed through)."""
        self.agent_busy: Callable[[str, bool], None] | None = None
        """Told when an agent's phone is rung by a transfer (True) and free again (False): the ACD does
        not ring an agent busy outside it (ring-in-use off)."""

    def __len__(self) -> int:
        return len(self._by_caller)

    def start(self, caller_leg: str, target: str, *, caller_number: str, did: str,
              flow_allowed: frozenset[str], recorder: Recorder | None, done: TransferDone) -> bool:
        """Dial ``target`` for the call on ``caller_leg`` (its media session is the engine's session of
        that leg); False (nothing dialled, journaled) when the target is refused or no leg could be set
        up. ``done`` is called once, later, otherwise."""
        caller = self.media.get(caller_leg)
        if caller is None:
            return False
        resolved = self.policy.resolve(target, flow_allowed=flow_allowed, caller=caller_number, did=did)
        if isinstance(resolved, Refusal):
            self.refused += 1
            _log.warning("transfer of %s to %r refused: %s", caller_leg, target, resolved.reason)
            self.journal.write("transfer_refused", self.wallclock(), call=caller_leg, target=target,
                               reason=resolved.reason)
            return False
        if caller_leg in self._by_caller:
            return False
        session = self.media.open(f"{caller_leg}>out")
        if session is None:
            self.journal.write("transfer_failed", self.wallclock(), call=caller_leg, target=target,
                               reason="no-media-port")
            return False
        self._sessions += 1
        offer = build_offer(local_ip=self.media_ip(), local_port=session.port, session_id=str(self._sessions),
                            session_version=1)
        leg = _Leg(caller_leg, caller, resolved, session, offer, done, recorder)
        host = resolved.dest[0]
        dial = ev.Dial(target=resolved.uri, from_uri=f"sip:{resolved.from_user}@{self.media_ip()}",
                       dest=resolved.dest, sdp=offer.to_bytes(), credentials=resolved.credentials)
        leg_id = self.send(dial)
        if leg_id is None:
            session.close()
            self.journal.write("transfer_failed", self.wallclock(), call=caller_leg, target=target,
                               reason="not-sent")
            return False
        leg.leg = leg_id
        self._by_caller[caller_leg] = leg
        self._by_leg[leg_id] = leg
        leg.timer = self.call_later(self.ring_timeout, lambda: self._ring_timeout(leg))
        if resolved.kind == "agent" and self.agent_busy is not None:
            self.agent_busy(resolved.target, True)
        self.journal.write("transfer_dialled", self.wallclock(), call=caller_leg, leg=leg_id, target=target,
                           kind=resolved.kind, uri=resolved.uri, host=host)
        return True

    def stop(self, caller_leg: str) -> None:
        """The caller's leg ended: end the other one (BYE, or CANCEL while it rings)."""
        leg = self._by_caller.get(caller_leg)
        if leg is None or leg.leg is None:
            return
        self._unbridge(leg)
        self.send(ev.Hangup(leg.leg))

    def bridged(self, caller_leg: str) -> tuple[_Leg, BridgedSession] | None:
        """The answered leg bridged to the caller on ``caller_leg`` and the caller's media, or None."""
        leg = self._by_caller.get(caller_leg)
        if leg is None or leg.relay is None or leg.leg not in self._by_leg:
            return None
        return leg, leg.caller

    def handle(self, event: object) -> bool:
        """Take an endpoint event if it is about one of our outgoing legs (True), else leave it (False)."""
        call = getattr(event, "call", None)
        leg = self._by_leg.get(call) if isinstance(call, str) else None
        if leg is None:
            return False
        if isinstance(event, ev.CallRinging):
            self.journal.write("transfer_ringing", self.wallclock(), call=leg.caller_leg, leg=call,
                               status=event.status)
        elif isinstance(event, ev.CallAnswered):
            self._answered(leg, event)
        elif isinstance(event, ev.CallEnded):
            self._ended(leg, event)
        elif isinstance(event, ev.Reinvited):
            # the other side moved its media or put us on hold: keep our offer's answer as it is
            self.send(ev.Answer(event.call, leg.offer.to_bytes()))
        elif isinstance(event, ev.ReinviteAnswered) and self.on_reinvite_answered is not None:
            self.on_reinvite_answered(leg, event)
        elif isinstance(event, ev.ReferReceived):
            # a phone reached by a flow's transfer cannot pass the caller on (only ACD agents' legs can):
            # answer its REFER at once, or it waits ~32 s for a reply that never comes
            self.send(ev.RejectRefer(event.call, 403))
        return True

    # -- internals ---------------------------------------------------------------------------------------

    def _ring_timeout(self, leg: _Leg) -> None:
        leg.timer = None
        if leg.answered_at is None and leg.leg is not None and leg.leg in self._by_leg:
            self.journal.write("transfer_timeout", self.wallclock(), call=leg.caller_leg, leg=leg.leg)
            self.send(ev.Hangup(leg.leg))  # CANCEL; the far end's 487 ends the leg

    def _answered(self, leg: _Leg, event: ev.CallAnswered) -> None:
        if leg.timer is not None:
            leg.timer.cancel()
            leg.timer = None
        session = leg.session
        negotiated = configure_answer(session, leg.offer, event.sdp_answer)
        if negotiated is None:
            _log.warning("transfer leg %s: unusable answer", event.call)
            self.journal.write("transfer_failed", self.wallclock(), call=leg.caller_leg, leg=event.call,
                               reason="bad-answer")
            self.send(ev.Hangup(event.call))
            return
        now = self.clock()
        leg.relay = bridge_media(leg.caller, session, recorder=leg.recorder, rng=self.rng, now=now)
        leg.answered_at = now
        self.journal.write("transfer_answered", self.wallclock(), call=leg.caller_leg, leg=event.call,
                           codec=negotiated.codec, caller_codec=leg.caller.law.name)

    def _unbridge(self, leg: _Leg) -> None:
        if leg.caller.forward is not None:
            leg.caller.forward = None

    def _ended(self, leg: _Leg, event: ev.CallEnded) -> None:
        self._by_leg.pop(event.call, None)
        self._by_caller.pop(leg.caller_leg, None)
        if leg.timer is not None:
            leg.timer.cancel()
            leg.timer = None
        self._unbridge(leg)
        stats = leg.session.close()
        talk = 0.0 if leg.answered_at is None else max(0.0, self.clock() - leg.answered_at)
        relay = leg.relay
        self.journal.write(
            "transfer_ended", self.wallclock(), call=leg.caller_leg, leg=event.call, reason=event.reason,
            status=event.status, answered=leg.answered_at is not None, talk=round(talk, 3),
            to_other=None if relay is None else relay.a_to_b.forwarded,
            to_caller=None if relay is None else relay.b_to_a.forwarded, packets_in=stats.packets_in,
        )
        if leg.destination.kind == "agent" and self.agent_busy is not None:
            self.agent_busy(leg.destination.target, False)
        leg.done(leg.answered_at is not None, talk)


def configure_answer(session: BridgedSession, offer: SessionDescription,
                     sdp_answer: bytes | None) -> Negotiated | None:
    """Configure an outgoing leg's media from the far end's answer to our ``offer``; None (nothing
    configured) when the answer is unusable or names no G.711 codec."""
    try:
        negotiated = accept_answer(offer, parse_sdp(sdp_answer or b""))
    except SdpError:
        return None
    law = law_for_codec(negotiated.codec)
    if law is None:
        return None
    session.configure(law, negotiated.payload_type, negotiated.dtmf_payload_type,
                      (negotiated.remote_address, negotiated.remote_port), sends=negotiated.direction.sends)
    return negotiated


def bridge_media(caller: BridgedSession, other: BridgedSession, *, recorder: Recorder | None,
                 rng: random.Random, now: float) -> Relay:
    """Relay every datagram of ``caller`` to ``other`` and back (transcoded PCMU<->PCMA when the legs
    differ, RFC 4733 re-typed); the call's recording goes on through the relay's tap, caller left,
    other side right. The caller's prompt stops: the relay speaks to the caller now."""
    tap = None
    if recorder is not None:
        recorder.align()  # both channels meet at the bridge's start
        tap = _Tap(recorder, caller.law, other.law)
    relay = Relay(LegFormat(caller.law, caller.dtmf_payload_type),
                  LegFormat(other.law, other.dtmf_payload_type), rng, tap=tap, now=now)
    caller.play(None)

    def from_caller(data: bytes, at: float) -> None:
        out = relay.from_a(data, at)
        if out is not None:
            other.send_raw(out)

    def from_other(data: bytes, at: float) -> None:
        out = relay.from_b(data, at)
        if out is not None:
            caller.send_raw(out)

    caller.forward = from_caller
    other.forward = from_other
    return relay


def policy_from_settings(settings: Settings, contacts: Callable[[str], Sequence[str]]) -> TransferPolicy:
    """The transfer policy of ``settings.sip``: its trunk and the operator's allow list."""
    sip = settings.sip
    trunk = None
    if sip.trunk is not None:
        password = sip.trunk_password.get_secret_value() if sip.trunk_password is not None else None
        trunk = Trunk(sip.trunk[0], sip.trunk[1], sip.trunk_username, password, sip.trunk_from)
    return TransferPolicy(contacts=contacts, trunk=trunk, allowed=sip.allowed_numbers)
