"""The caller's hold passed through to the bridged agent's leg (issue 6, B2BUA).

When the caller's side (a phone, the carrier) re-INVITEs a bridged call to hold it — ``a=sendonly``,
``a=inactive`` or the RFC 2543 ``c=0.0.0.0`` — the switch answers it (RFC 3264 §8: sendonly →
recvonly, inactive → inactive, o= version raised) and tells :class:`CallerHold`. It then:

- stops relaying the caller's audio to the agent (the agent hears silence; the caller's own music, if
  any, is not passed on);
- re-INVITEs the agent's leg with the matching direction (:func:`held_direction`: ``sendonly`` when the
  caller still sends, else ``inactive``), so the agent's phone shows the call as held.

On unhold (the caller offers to receive again) the relay resumes at once and the agent's leg is
re-INVITEd back to ``sendrecv``. Each offer names only the leg's current codec (the relay's formats
are fixed at the bridge) and raises the leg's o= version.

A re-INVITE that fails never ends the call: 491 (glare, RFC 3261 §14.1) is retried after 2.1–4 s (we
dialled the agent, so we own the dialog's Call-ID); any other refusal is journaled and the bridge
goes on as it is. An offer the endpoint could not send (another transaction in flight) is noticed by
a watchdog and retried, :data:`MAX_ATTEMPTS` times at most per change.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from waterline.sip import events as ev
from waterline.sip.sdp import Direction, SdpError, SessionDescription, build_offer, parse_sdp
from waterline.telephony.bridge import BridgedSession, configure_answer
from waterline.telephony.callflow import Handle
from waterline.telephony.journal import Journal

__all__ = ["MAX_ATTEMPTS", "WATCHDOG", "CallerHold", "HeldLeg", "HoldState", "held_direction"]

_log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
"""Re-INVITEs sent for one change of the caller's hold state (the first and two retries)."""
WATCHDOG = 34.0
"""Seconds without an answer to our re-INVITE before it counts as lost (past Timer B, 32 s)."""
GLARE_RETRY = (2.1, 4.0)
"""RFC 3261 §14.1: the owner of the Call-ID retries a glared re-INVITE after 2.1–4 s."""


def held_direction(offer: bytes) -> Direction | None:
    """The direction to offer the other leg for the caller's new ``offer``: ``sendrecv`` when the caller
    wants to hear again, ``sendonly`` when it holds but still sends, ``inactive`` when it neither
    receives nor sends. None when the offer is unreadable or has no active audio stream."""
    try:
        session = parse_sdp(offer)
    except SdpError:
        return None
    for media in session.media:
        if media.media != "audio" or media.port == 0:
            continue
        direction = session.direction_for(media)
        connection = session.connection_for(media)
        null = connection is not None and connection.is_null
        if direction.receives and not null:
            return Direction.SENDRECV
        return Direction.SENDONLY if direction.sends else Direction.INACTIVE
    return None


@dataclass(slots=True)
class HoldState:
    """One bridged leg's hold as passed through: what the caller wants, what the leg agreed to."""

    wanted: Direction
    agreed: Direction = Direction.SENDRECV
    sent: SessionDescription | None = None  # our offer in flight
    attempts: int = 0
    timer: Handle | None = None
    saved_forward: Callable[[bytes, float], None] | None = None  # the caller→agent relay, while held


class HeldLeg(Protocol):
    """The other leg of a bridge (the distributor's agent leg, a flow transfer's leg)."""

    @property
    def sip(self) -> str | None:
        """The endpoint's id of the leg (None before it was dialled)."""

    session: BridgedSession
    offer: SessionDescription
    version: int
    hold: HoldState | None


Bridged = tuple[HeldLeg, BridgedSession]
"""A caller's bridge: the other leg and the caller's own media session."""


class CallerHold:
    """Passes the caller's hold and unhold through to the bridged leg (one per engine)."""

    def __init__(self, *, send: Callable[[ev.Command], str | None], find: Callable[[str], Bridged | None],
                 journal: Journal, wallclock: Callable[[], float],
                 call_later: Callable[[float, Callable[[], object]], Handle], rng: random.Random,
                 media_ip: Callable[[], str]) -> None:
        """``find(caller_leg)`` gives the caller's bridge (None when not bridged); ``send`` hands a command
        to the endpoint; ``media_ip`` is the address our offers name."""
        self.send = send
        self.find = find
        self.journal = journal
        self.wallclock = wallclock
        self.call_later = call_later
        self.rng = rng
        self.media_ip = media_ip

    def reoffered(self, caller_leg: str, offer: bytes) -> None:
        """The caller's leg re-INVITEd with ``offer`` (already answered): follow it on the bridge."""
        bridged = self.find(caller_leg)
        wanted = held_direction(offer)
        if bridged is None or wanted is None:
            return
        leg, caller = bridged
        state = leg.hold
        if state is None:
            if wanted is Direction.SENDRECV:
                return  # not held, and not held before: nothing to pass on (a media move)
            state = leg.hold = HoldState(wanted)
        elif state.wanted is wanted:
            return
        state.wanted = wanted
        state.attempts = 0
        if wanted is Direction.SENDRECV:
            if caller.forward is None and state.saved_forward is not None:
                caller.forward = state.saved_forward  # the agent hears the caller again
            state.saved_forward = None
        elif state.saved_forward is None and caller.forward is not None:
            state.saved_forward, caller.forward = caller.forward, None
        self.journal.write("caller_held" if wanted is not Direction.SENDRECV else "caller_resumed",
                           self.wallclock(), call=caller_leg, leg=leg.sip, direction=wanted.value)
        if state.sent is None:
            self._offer(leg, state)

    def answered(self, leg: HeldLeg, event: ev.ReinviteAnswered) -> None:
        """The other leg answered one of our re-INVITEs (the distributor passes it on)."""
        state = leg.hold
        if state is None or state.sent is None:
            return
        offer, state.sent = state.sent, None
        if state.timer is not None:
            state.timer.cancel()
            state.timer = None
        if 200 <= event.status < 300:
            if configure_answer(leg.session, offer, event.sdp_answer) is None:
                _log.warning("leg %s: unusable answer to our hold re-INVITE", leg.sip)
                self.journal.write("hold_failed", self.wallclock(), leg=leg.sip, status=event.status,
                                   reason="bad-answer")
            else:
                leg.offer = offer
                state.agreed = offer.media[0].direction or Direction.SENDRECV
                self.journal.write("hold_passed", self.wallclock(), leg=leg.sip, direction=state.agreed.value)
        elif event.status == 491 and state.attempts < MAX_ATTEMPTS:
            self.journal.write("hold_glare", self.wallclock(), leg=leg.sip, attempts=state.attempts)
            state.timer = self.call_later(self.rng.uniform(*GLARE_RETRY), lambda: self._retry(leg, state))
            return
        else:
            _log.warning("leg %s refused our hold re-INVITE: %s", leg.sip, event.status)
            self.journal.write("hold_failed", self.wallclock(), leg=leg.sip, status=event.status,
                               reason="refused")
            state.attempts = MAX_ATTEMPTS  # the bridge goes on as it is until the caller changes again
        if state.wanted is not state.agreed and state.attempts < MAX_ATTEMPTS:
            self._offer(leg, state)  # the caller changed its mind while we asked

    # -- internals ---------------------------------------------------------------------------------------

    def _retry(self, leg: HeldLeg, state: HoldState) -> None:
        state.timer = None
        if leg.hold is state and state.sent is None and state.wanted is not state.agreed:
            self._offer(leg, state)

    def _offer(self, leg: HeldLeg, state: HoldState) -> None:
        if leg.sip is None:
            return
        session = leg.session
        leg.version += 1
        offer = build_offer(local_ip=self.media_ip(), local_port=session.port,
                            session_id=leg.offer.origin.session_id, session_version=leg.version,
                            codecs=(session.law.name,), dtmf_payload_type=session.dtmf_payload_type,
                            direction=state.wanted)
        state.sent = offer
        state.attempts += 1
        self.send(ev.Reinvite(leg.sip, offer.to_bytes()))
        state.timer = self.call_later(WATCHDOG, lambda: self._lost(leg, state, offer))

    def _lost(self, leg: HeldLeg, state: HoldState, offer: SessionDescription) -> None:
        """No answer to ``offer``: not sent (another transaction was in flight) or lost on the way."""
        state.timer = None
        if leg.hold is not state or state.sent is not offer:
            return
        state.sent = None
        self.journal.write("hold_failed", self.wallclock(), leg=leg.sip, status=None, reason="no-answer")
        if state.wanted is not state.agreed and state.attempts < MAX_ATTEMPTS:
            self._offer(leg, state)
