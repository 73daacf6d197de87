"""The ACD on real calls: agents' legs dialled, bridged to the waiting caller (the B2BUA of issue 6).

A :class:`Distributor` owns the engine's one :class:`~waterline.calls.acd.Acd` and carries out its
actions. A flow's ``queue`` node hands its caller over (:meth:`Distributor.enter`); from then on:

- ``RingAgent``: an outgoing INVITE leg, on a media session of its own, to the agent's contact — a
  phone's registered contact URI, or a mobile through the trunk (:meth:`TransferPolicy.resolve_contact`);
  180 becomes ``LegRinging``, a final refusal ``LegFailed``/``LegNoAnswer``; ``CancelLeg`` is our CANCEL
  (or BYE for a leg that answered too late). The ACD runs the ring timeout itself.
- ``Bridge``: both media sessions relayed (:func:`~waterline.telephony.bridge.bridge_media`: PCMU↔PCMA,
  RFC 4733, the call's recording goes on through the relay's tap). Either side's BYE ends both: the
  agent's lets the caller's flow go on (a survey), the caller's hangs up the agent.
- ``MusicOnHold``/``Announce``/``PlayComfort``/``OfferCallback``/``AcceptCallback`` are played to the
  caller by its flow call (:class:`QueuedCall`); ``ExitQueue`` resumes its flow: voicemail (the node's
  failure branch) or a forward to a mobile.

The configuration (queues, members, agents' contacts, states set through the API) is read from the
store in a worker thread every :data:`REFRESH` seconds; the ACD's records (agent state changes, queue
log) are written in a worker thread in batches, never on the loop. ``on_event`` receives the live
events of :mod:`waterline.calls.live` (``call.queued``, ``call.offered``, ``call.answered``,
``call.ended``, ``agent.state``, ``queue.stats``) for the engine's event port.

Failover: when none of a queue's members is logged in, or its station is degraded
(:class:`~waterline.calls.health.StationHealth`: consecutive failed agent legs), a new caller goes
straight to the station's on-duty mobile (the first mobile of the queue's overflow chain, else the
station's phone), logged as ``joinempty`` with the mobile as its detail.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from waterline.calls import acdactions as aa
from waterline.calls import acdevents as ae
from waterline.calls import live
from waterline.calls.acd import Acd
from waterline.calls.health import StationHealth, is_failure
from waterline.calls.queue import AgentState, OverflowMobile, OverflowVoicemail, QueueConfig, QueueMember
from waterline.calls.queuelog import AgentStateChange, QueueEvent, QueueLogEntry, Record
from waterline.domain import phones
from waterline.domain.agents import AgentContact, AgentStatus, ContactKind
from waterline.services.agents import apply_acd_changes
from waterline.services.ports import QueueDefinition, UnitOfWork
from waterline.services.queues import store_log
from waterline.sip import events as ev
from waterline.sip.sdp import AnswerCache, SdpError, SessionDescription, build_offer
from waterline.telephony import refer
from waterline.telephony.bridge import BridgedSession, Media, Recorder, bridge_media, configure_answer
from waterline.telephony.callflow import Handle, Scheduler, Worker
from waterline.telephony.eventport import CommandRefused
from waterline.telephony.hold import HoldState
from waterline.telephony.journal import Journal
from waterline.telephony.media import law_for_codec
from waterline.telephony.prompt import Player, Prompt
from waterline.telephony.relay import Relay
from waterline.telephony.services import PlayerFeed
from waterline.telephony.transfer import Refusal, TransferPolicy, normalise_number

__all__ = ["REFRESH", "AcdSnapshot", "Distributor", "EventHook", "LegChain", "QueuedCall", "announcement",
           "load_snapshot", "store_records"]

_log = logging.getLogger(__name__)

REFRESH = 2.0
"""Seconds between two reads of the queues, members and agents from the store."""
FLUSH_DELAY = 0.2
"""Records are gathered this long before one write (a ring, an answer and a log line in one go)."""
AGENT_TRANSFER_RING = 30.0
"""Seconds a call transferred to one agent rings that agent before the caller goes to voicemail."""
_NO_ANSWER = frozenset({408, 480, 487})
"""Final statuses that mean the phone rang out or was not reachable for now, not a refusal."""
_BUSY_STATES = frozenset({"ringing", "on_call", "wrap_up"})

EventHook = Callable[[live.LiveEvent], None]
"""Receives live events (``EventPort.publish``); must not block."""


class QueuedCall(Protocol):
    """The caller's side of a queued call, as the distributor drives it (a flow call implements it)."""

    leg: str
    call_id: str
    caller: str
    did: str

    def queue_hold(self, prompt: str) -> None:
        """Play ``prompt`` in a loop (music on hold) until told otherwise."""

    def queue_say(self, text: str, *, then_hangup: bool = False) -> None:
        """Speak ``text`` (TTS), then back to the music (or hang up)."""

    def queue_prompt(self, prompt: str) -> None:
        """Play ``prompt`` once (comfort), then back to the music."""

    def queue_connected(self, agent: str) -> Recorder | None:
        """An agent answered: stop playing; returns the call's recorder for the bridge's tap."""

    def queue_left(self, number: str | None, detail: str) -> None:
        """The caller leaves the ACD without an agent: forward to ``number``, or (None) the flow's
        failure branch; ``detail`` goes to the call's path."""

    def queue_agent_ended(self, talk: float, detail: str) -> None:
        """The bridged agent hung up after ``talk`` seconds; the caller is still on the line."""

    def queue_context(self) -> tuple[tuple[str, ...], str]:
        """What the agent's screen shows besides the number: the IVR path (node ids) and digits."""


@dataclass(frozen=True, slots=True)
class AcdSnapshot:
    """The ACD's configuration as stored: queues with members, agents with states and contacts."""

    queues: tuple[QueueDefinition, ...] = ()
    agents: tuple[AgentStatus, ...] = ()
    contacts: Mapping[str, tuple[AgentContact, ...]] = field(default_factory=dict)
    station_phones: Mapping[int, str] = field(default_factory=dict)


def load_snapshot(uow: UnitOfWork) -> AcdSnapshot:
    """Read the ACD's configuration (blocking; call in a worker thread)."""
    with uow:
        queues = tuple(uow.queues.all())
        agents = tuple(uow.agents.statuses())
        contacts = {agent.username: tuple(uow.agents.contacts(agent.user_id)) for agent in agents}
        phones = {station.id: station.phone for station in uow.stations.all() if station.id is not None}
    return AcdSnapshot(queues, agents, contacts, phones)


def store_records(uow_factory: Callable[[], UnitOfWork], records: Sequence[Record]) -> None:
    """Write the ACD's records: agent state changes, then the queue log (blocking; worker thread)."""
    changes = [r for r in records if isinstance(r, AgentStateChange)]
    entries = [r for r in records if isinstance(r, QueueLogEntry)]
    if changes:
        apply_acd_changes(uow_factory(), changes)
    if entries:
        store_log(uow_factory(), entries)


@dataclass(slots=True)
class _Leg:
    leg: str  # the ACD's leg id
    call_id: str
    agent: str
    kind: Literal["agent", "customer"]
    session: BridgedSession
    offer: SessionDescription
    station: int | None
    started: float  # wall clock
    sip: str | None = None
    answered_at: float | None = None
    cancelled: bool = False
    relay: Relay | None = None
    ringing: bool = False
    version: int = 1
    hold: HoldState | None = None  # the caller's hold passed through (telephony.hold)


@dataclass(slots=True)
class _Queued:
    call: QueuedCall
    queue: str
    station: int | None
    entered: float
    agent_leg: _Leg | None = None
    customer_leg: _Leg | None = None
    bridged_at: float | None = None
    gone: bool = False
    callback: bool = False


class Distributor:
    """The engine's ACD with its legs; one per engine."""

    def __init__(self, *, send: Callable[[ev.Command], str | None], media: Media, policy: TransferPolicy,
                 journal: Journal, scheduler: Scheduler, worker: Worker,
                 uow_factory: Callable[[], UnitOfWork] | None, registered: Callable[[str], Sequence[str]],
                 wallclock: Callable[[], float], clock: Callable[[], float], rng: random.Random,
                 media_ip: Callable[[], str], health: StationHealth | None = None,
                 on_event: EventHook | None = None, hangup: Callable[[str], None] | None = None,
                 refresh: float = REFRESH, timezone: dt.tzinfo = dt.UTC,
                 speak: Callable[[str], Prompt | None] | None = None) -> None:
        """``send`` hands a command to the endpoint (returns a Dial's leg id); ``registered(username)``
        gives an agent's registered contact URIs (the registrar); ``wallclock`` is the ACD's ``now``
        (epoch seconds, stored as they are); ``clock`` the media clock; ``hangup(leg)`` ends a caller's
        leg (the console's hang-up command); ``timezone`` says when a day starts (``fewest-calls``
        counts the calls of the day); ``speak(text)`` synthesises a queue's whisper (blocking, in the
        worker)."""
        self.acd = Acd(rng=random.Random(rng.getrandbits(64)))
        self.send = send
        self.media = media
        self.policy = policy
        self.journal = journal
        self.scheduler = scheduler
        self.worker = worker
        self.uow_factory = uow_factory
        self.registered = registered
        self.wallclock = wallclock
        self.clock = clock
        self.rng = rng
        self.media_ip = media_ip
        self.health = health if health is not None else StationHealth()
        self.on_event: EventHook = on_event if on_event is not None else _no_event
        self.refresh = refresh
        self.timezone = timezone
        self.speak = speak
        self._day = self._today()
        self.hangup = hangup
        self._queues: dict[str, QueueDefinition] = {}
        self._station_phones: Mapping[int, str] = {}
        self._agent_contacts: dict[str, tuple[AgentContact, ...]] = {}
        self._acd_changes: dict[str, deque[float]] = {}
        """Per agent, when the ACD changed the state itself lately: a stored change at one of these
        times is the ACD's own, on its way to the store, not a request from the API."""
        self._seen: dict[str, float] = {}
        """Per agent, the time of the stored state last looked at: only a newer one is followed."""
        self._calls: dict[str, _Queued] = {}
        self._legs: dict[str, _Leg] = {}
        self._by_sip: dict[str, _Leg] = {}
        self._timer: Handle | None = None
        self._timer_at: float | None = None
        self._records: list[Record] = []
        self._stats: dict[str, tuple[int, int]] = {}
        self._flushing = False
        self._flush_handle: Handle | None = None
        self._sessions = 0
        self._loading = False
        self.failovers = 0
        self.load_errors = 0
        self.on_reinvite_answered: Callable[[_Leg, ev.ReinviteAnswered], None] | None = None
        """Told of the answers to our own re-INVITEs on agents' legs (the caller's hold passed through)."""

    # -- configuration --------------------------------------------------------------------------------

    def knows(self, queue: str) -> bool:
        """Whether ``queue`` is configured (a flow's queue node falls back to its forward otherwise)."""
        return queue in self._queues

    def reload(self) -> None:
        """Read the configuration in the worker and apply it on the loop (no-op while one is running)."""
        factory = self.uow_factory
        if factory is None or self._loading:
            return
        self._loading = True

        def done(snapshot: AcdSnapshot | None, error: BaseException | None) -> None:
            self._loading = False
            if error is not None or snapshot is None:
                self.load_errors += 1
                if self.load_errors == 1 or self.load_errors % 100 == 0:  # not a traceback every 2 s
                    _log.error("could not read the ACD configuration (%d times)", self.load_errors,
                               exc_info=error)
                return
            self.apply(snapshot)

        self.worker.submit(lambda: load_snapshot(factory()), done)

    def start(self) -> None:
        """Read the configuration now and every :attr:`refresh` seconds."""
        self.reload()
        self._refresh_handle = self.scheduler.call_later(self.refresh, self._refresh)

    def _today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.wallclock(), self.timezone).date()

    def _refresh(self) -> None:
        today = self._today()
        if today != self._day:
            self._day = today
            self.acd.reset_daily_counts()  # fewest-calls starts the day even
        self._publish_stats(every_waiting=True)  # the wallboard's longest wait moves on
        self.reload()
        self._refresh_handle = self.scheduler.call_later(self.refresh, self._refresh)

    def stop(self) -> None:
        """Stop refreshing and timers (the engine is stopping); pending records are written."""
        for handle in (getattr(self, "_refresh_handle", None), self._timer, self._flush_handle):
            if handle is not None:
                handle.cancel()
        self._flush_now()

    def apply(self, snapshot: AcdSnapshot) -> None:
        """Configure the ACD from ``snapshot``: queues, members, agents' contacts, and the states agents
        asked for through the API since the ACD last changed them."""
        now = self.wallclock()
        self._queues = {q.config.name: q for q in snapshot.queues}
        self._station_phones = dict(snapshot.station_phones)
        self._agent_contacts = {name: tuple(contacts) for name, contacts in snapshot.contacts.items()}
        for definition in snapshot.queues:
            self.acd.configure_queue(definition.config, list(definition.members))
        out: list[aa.AcdAction] = []
        for status in snapshot.agents:
            self.acd.configure_agent(status.username, self._contacts(status.username))
            out.extend(self._sync_state(status, now))
        self._execute(out)
        self._after()

    def _contacts(self, username: str) -> list[str]:
        """The agent's ring targets now: registered URIs of its SIP contacts (its own username when none
        is stored), then its mobiles (when there is a trunk), by priority."""
        stored = sorted(self._agent_contacts.get(username, ()), key=lambda c: c.priority)
        if not stored:
            return list(self.registered(username))
        targets: list[str] = []
        for contact in stored:
            if contact.kind is ContactKind.SIP:
                targets.extend(self.registered(contact.address))
            elif self.policy.trunk is not None:  # a mobile without a trunk cannot be rung: leave it out
                targets.append(contact.address)
        return targets

    def _sync_state(self, status: AgentStatus, now: float) -> list[aa.AcdAction]:
        stored = status.state.value
        current = self.acd.agent_state(status.username)
        if stored == current.value:
            return []
        since = status.since.timestamp() if status.since is not None else 0.0
        first = status.username not in self._seen
        if not first and since <= self._seen[status.username]:
            return []  # nothing new in the store: the ACD's state is the newer truth
        self._seen[status.username] = since
        own = self._acd_changes.get(status.username, ())
        if any(abs(since - at) < 0.002 for at in own):
            return []  # the ACD's own change, stored
        if stored in _BUSY_STATES:
            if not first:
                return []
            # left over from a run that ended mid-call: the agent was logged in, the call is gone
            stored = "available"
        wanted: Literal["available", "paused", "logged_out"]
        if stored == "available":
            wanted = "available"
        elif stored == "paused":
            wanted = "paused"
        else:
            wanted = "logged_out"
        return self.acd.handle(ae.AgentStateRequested(status.username, wanted, status.reason), now)

    def agent_in_use(self, agent: str, busy: bool) -> None:
        """The agent's phone is busy (or free again) with a call outside the ACD (a flow's transfer)."""
        self._feed(ae.AgentInUse(agent, busy))

    def request_state(self, agent: str, state: Literal["available", "paused", "logged_out"],
                      reason: str = "") -> None:
        """An agent's own change (a feature code), applied at once rather than at the next refresh."""
        self._feed(ae.AgentStateRequested(agent, state, reason))

    # -- callers --------------------------------------------------------------------------------------

    def enter(self, call: QueuedCall, queue: str) -> bool:
        """Hand ``call`` to ``queue``; False (nothing done) when the queue is not configured."""
        definition = self._queues.get(queue)
        if definition is None or call.call_id in self._calls:
            return False
        now = self.wallclock()
        station = definition.station_id
        failover = self._failover(definition, now)
        if failover is not None:
            number, why = failover
            self.failovers += 1
            entry = QueueLogEntry(now, queue, call.call_id, QueueEvent.JOINEMPTY, position=1, wait=0.0,
                                  detail=f"mobile:{number}")
            self._records.append(entry)
            self._publish([entry])
            self.journal.write("acd_failover", now, call=call.leg, call_id=call.call_id, queue=queue,
                               station=station, number=number, reason=why)
            self._after()
            call.queue_left(number, f"queue {queue}: failover ({why}) -> mobile {number}")
            return True
        self._calls[call.call_id] = _Queued(call, queue, station, now)
        self.journal.write("acd_entered", now, call=call.leg, call_id=call.call_id, queue=queue)
        path, digits = call.queue_context()
        self._emit(live.CallQueued(call.call_id, queue, call.caller, call.did, now, ivr_path=path,
                                   digits=digits))
        self._feed(ae.CallEntered(call.call_id, queue, call.caller))
        return True

    def _failover(self, definition: QueueDefinition, now: float) -> tuple[str, str] | None:
        number = next((t.number for t in definition.config.overflow if isinstance(t, OverflowMobile)), None)
        if number is None:
            number = normalise_number(self._station_phones.get(definition.station_id, "")) or None
        if number is None:
            return None
        if self.health.degraded(definition.station_id, now):
            return number, "degraded"
        if not any(self.acd.agent_state(m.agent) is not AgentState.LOGGED_OUT for m in definition.members):
            return number, "no-agent-logged-in"
        return None

    def digit(self, call_id: str, digit: str) -> None:
        """A digit of a waiting caller (``1`` accepts a call-back once offered)."""
        if call_id in self._calls:
            self._feed(ae.CallerPressed(call_id, digit))

    def caller_gone(self, call_id: str) -> None:
        """The caller hung up: abandon while waiting (agents' legs cancelled), complete when bridged."""
        queued = self._calls.get(call_id)
        if queued is None:
            return
        queued.gone = True
        leg = queued.agent_leg
        if leg is not None and leg.sip is not None:  # bridged, or hearing the whisper
            self._unbridge(queued)
            leg.cancelled = True
            self.send(ev.Hangup(leg.sip))
        if not queued.callback:
            self._calls.pop(call_id, None)  # a call-back keeps its place: the ACD calls the customer later
        self._feed(ae.CallerHungUp(call_id))

    def bridged(self, caller_leg: str) -> tuple[_Leg, BridgedSession] | None:
        """The agent's leg bridged to the caller on ``caller_leg`` and the caller's media, or None."""
        for queued in self._calls.values():
            leg = queued.agent_leg
            if (queued.call.leg == caller_leg and leg is not None and queued.bridged_at is not None
                    and queued.customer_leg is None and not queued.gone and leg.sip in self._by_sip):
                caller = self.media.get(caller_leg)
                return None if caller is None else (leg, caller)
        return None

    @property
    def waiting(self) -> int:
        """Callers in the ACD now (waiting or bridged)."""
        return len(self._calls)

    # -- console commands (the event port's handlers) ---------------------------------------------------

    def command_handlers(self) -> dict[str, Callable[[Any], Mapping[str, object] | None]]:
        """Handlers of the console commands the ACD carries out, by command name."""
        return {live.Hangup.NAME: self._hangup_command, live.AgentStateNotice.NAME: self._state_command,
                live.TransferCall.NAME: self._transfer_command}

    def _transfer_command(self, command: live.TransferCall,
                          before_hangup: Callable[[], None] | None = None) -> Mapping[str, object] | None:
        """Blind transfer of a bridged call: the agent's leg is hung up and the caller queues again, in
        ``queue`` or for ``agent`` alone (a queue of one, ringing :data:`AGENT_TRANSFER_RING` s, then the
        flow's failure branch: voicemail). ``before_hangup`` runs once the transfer is sure, before the
        agent's leg is hung up (a phone's REFER gets its final NOTIFY there)."""
        queued = self._calls.get(command.call_id)
        if queued is None or queued.gone or queued.bridged_at is None or queued.customer_leg is not None:
            raise CommandRefused("unknown_call", "没有这个正在通话的来电",
                                 "no such connected call in the queues")
        if command.queue:
            if command.queue not in self._queues:
                raise CommandRefused("unknown_queue", "没有这个队列", f"no queue {command.queue!r}")
            target, name = f"queue:{command.queue}", command.queue
        else:
            if self.acd.agent_state(command.agent) is AgentState.LOGGED_OUT:
                raise CommandRefused("agent_unavailable", "该坐席未签入",
                                     f"agent {command.agent!r} is not logged in")
            target, name = f"agent:{command.agent}", f"agent:{command.agent}"
            config = QueueConfig(name, ring_timeout=AGENT_TRANSFER_RING, max_wait=AGENT_TRANSFER_RING,
                                 wrap_up_seconds=0.0, announce_every=None, overflow=(OverflowVoicemail(),))
            self.acd.configure_queue(config, [QueueMember(command.agent)])
        leg = queued.agent_leg
        self._unbridge(queued)
        if before_hangup is not None:
            before_hangup()
        if leg is not None and leg.sip is not None:
            leg.cancelled = True
            self.send(ev.Hangup(leg.sip))
        call_id = command.call_id
        self.journal.write("acd_transferred", self.wallclock(), call_id=call_id, to=target, by=command.by)
        self._feed(ae.CallTransferred(call_id, target))  # logged as a transfer; the agent is released
        now = self.wallclock()
        self._calls[call_id] = _Queued(queued.call, name, queued.station, now)
        self._feed(ae.CallEntered(call_id, name, queued.call.caller))
        return None

    def _hangup_command(self, command: live.Hangup) -> Mapping[str, object] | None:
        queued = self._calls.get(command.call_id)
        if queued is None or queued.gone or self.hangup is None:
            raise CommandRefused("unknown_call", "没有这个通话", "no such call in the queues")
        self.journal.write("acd_hangup_command", self.wallclock(), call_id=command.call_id, by=command.by)
        self.hangup(queued.call.leg)  # the caller's end hangs up the agent's leg too
        return None

    def _state_command(self, command: live.AgentStateNotice) -> Mapping[str, object] | None:
        # a web worker stored the agent's own change: follow it now rather than at the next refresh
        if command.state == "available":
            self.request_state(command.agent, "available", command.reason)
        elif command.state == "paused":
            self.request_state(command.agent, "paused", command.reason)
        elif command.state == "logged_out":
            self.request_state(command.agent, "logged_out", command.reason)
        else:
            raise CommandRefused("bad_state", "无效的状态", f"not a state an agent sets: {command.state}")
        return None

    # -- endpoint events ------------------------------------------------------------------------------

    def handle(self, event: object) -> bool:
        """Take an endpoint event about one of our agent legs (True), else leave it (False)."""
        sip = getattr(event, "call", None)
        leg = self._by_sip.get(sip) if isinstance(sip, str) else None
        if leg is None:
            return False
        if isinstance(event, ev.CallRinging):
            if not leg.ringing and not leg.cancelled:
                leg.ringing = True
                self.journal.write("acd_ringing", self.wallclock(), leg=sip, agent=leg.agent,
                                   call_id=leg.call_id, status=event.status)
                self._feed(ae.LegRinging(leg.leg))
        elif isinstance(event, ev.CallAnswered):
            self._answered(leg, event)
        elif isinstance(event, ev.CallEnded):
            self._ended(leg, event)
        elif isinstance(event, ev.Reinvited):
            self._reinvited(leg, event)
        elif isinstance(event, ev.ReinviteAnswered) and self.on_reinvite_answered is not None:
            self.on_reinvite_answered(leg, event)  # the caller's hold passed through (telephony.hold)
        elif isinstance(event, ev.ReferReceived):  # the agent's transfer key (RFC 3515)
            status = refer.referred(event, call_id=leg.call_id, agent=leg.agent, send=self.send,
                                    knows_queue=self.knows, knows_agent=self._knows_agent,
                                    transfer=self._transfer_command)
            self.journal.write("acd_refer", self.wallclock(), leg=event.call, agent=leg.agent,
                               call_id=leg.call_id, refer_to=event.refer_to, status=status)
        return True

    def _knows_agent(self, username: str) -> bool:
        return username in self.acd.agent_states()

    def _reinvited(self, leg: _Leg, event: ev.Reinvited) -> None:
        """The agent's phone moved its media or put the caller on hold (RFC 3264 §8): answer in kind, and
        play the queue's music to the caller while held."""
        leg.version += 1
        try:
            body, negotiated = AnswerCache(local_ip=self.media_ip()).answer(
                event.sdp_offer, local_port=leg.session.port, session_id=leg.offer.origin.session_id,
                session_version=leg.version)
        except SdpError:
            self.send(ev.Reject(event.call, 488, "Not Acceptable Here"))
            return
        self.send(ev.Answer(event.call, body))
        law = law_for_codec(negotiated.codec)
        if law is not None:
            leg.session.configure(law, negotiated.payload_type, negotiated.dtmf_payload_type,
                                  (negotiated.remote_address, negotiated.remote_port),
                                  sends=negotiated.direction.sends)
        queued = self._calls.get(leg.call_id)
        if queued is None or queued.bridged_at is None or queued.agent_leg is not leg or queued.customer_leg:
            return
        self.journal.write("acd_held" if event.on_hold else "acd_resumed", self.wallclock(), leg=event.call,
                           agent=leg.agent, call_id=leg.call_id)
        if event.on_hold:
            definition = self._queues.get(queued.queue)
            queued.call.queue_hold(definition.config.music_on_hold if definition is not None else "queue-moh")
        else:
            queued.call.queue_connected(leg.agent)  # the music stops: the relay speaks again

    def _answered(self, leg: _Leg, event: ev.CallAnswered) -> None:
        now = self.wallclock()
        leg.answered_at = now
        if leg.cancelled or leg.leg not in self._legs:
            self.send(ev.Hangup(event.call))  # answered as we gave up on it
            return
        if configure_answer(leg.session, leg.offer, event.sdp_answer) is None:
            self.journal.write("acd_leg_failed", now, leg=event.call, agent=leg.agent, reason="bad-answer")
            leg.cancelled = True
            self.send(ev.Hangup(event.call))
            self._feed(ae.LegFailed(leg.leg, 488, "bad-answer"))
            return
        self.health.success(leg.station, now)
        self.journal.write("acd_answered", now, leg=event.call, agent=leg.agent, call_id=leg.call_id,
                           after=round(now - leg.started, 3))
        self._feed(ae.LegAnswered(leg.leg))

    def _ended(self, leg: _Leg, event: ev.CallEnded) -> None:
        now = self.wallclock()
        self._by_sip.pop(event.call, None)
        self._legs.pop(leg.leg, None)
        stats = leg.session.close()
        queued = self._calls.get(leg.call_id)
        bridged = queued is not None and (queued.agent_leg is leg or queued.customer_leg is leg)
        relay = leg.relay
        self.journal.write(
            "acd_leg_ended", now, leg=event.call, agent=leg.agent, call_id=leg.call_id, reason=event.reason,
            status=event.status, answered=leg.answered_at is not None, bridged=relay is not None,
            to_agent=None if relay is None else relay.a_to_b.forwarded,
            to_caller=None if relay is None else relay.b_to_a.forwarded, packets_in=stats.packets_in,
        )
        if bridged and queued is not None:
            self._bridge_ended(queued, leg, now)
        elif not leg.cancelled and leg.answered_at is None:
            status = event.status or 0
            # a phone that rang and then gave up (408/480) works; one that never answered the INVITE
            # (timeout), or answered 5xx/404, is the station's SIP side failing
            rang_out = leg.ringing and status in (408, 480)
            if is_failure(status) and status != 487 and not rang_out:
                if self.health.failure(leg.station, now):
                    self.journal.write("station_degraded", now, station=leg.station, status=status)
            if status in _NO_ANSWER:
                self._feed(ae.LegNoAnswer(leg.leg))
            else:
                self._feed(ae.LegFailed(leg.leg, status, event.reason))

    def _bridge_ended(self, queued: _Queued, leg: _Leg, now: float) -> None:
        self._unbridge(queued)
        talk = max(0.0, now - (queued.bridged_at or now))
        other = queued.customer_leg if leg is queued.agent_leg else queued.agent_leg
        call_id = queued.call.call_id
        if queued.customer_leg is not None:
            # a call-back: the agent and the customer were both our legs; the other one goes too
            if other is not None and other.sip is not None and other.sip in self._by_sip:
                other.cancelled = True
                self.send(ev.Hangup(other.sip))
            by: Literal["caller", "agent"] = "caller" if leg is queued.customer_leg else "agent"
            self._calls.pop(call_id, None)
        else:
            by = "agent"
            self._calls.pop(call_id, None)
            if not queued.gone:
                queued.call.queue_agent_ended(talk, f"agent {leg.agent}: {round(talk)} s")
        self._feed(ae.CallCompleted(call_id, by))

    def _unbridge(self, queued: _Queued) -> None:
        for leg in (queued.agent_leg, queued.customer_leg):
            if leg is not None:
                leg.session.forward = None
        if queued.customer_leg is None:
            caller = self.media.get(queued.call.leg)
            if caller is not None:
                caller.forward = None

    # -- the ACD --------------------------------------------------------------------------------------

    def _feed(self, event: ae.AcdEvent) -> None:
        self._execute(self.acd.handle(event, self.wallclock()))
        self._after()

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self._execute(self.acd.handle_timer(self.wallclock()))
        self._after()

    def _after(self) -> None:
        """Take the ACD's records (to the store, to the live events) and re-arm its timer."""
        records = self.acd.take_records()
        for record in records:
            if isinstance(record, AgentStateChange):
                self._acd_changes.setdefault(record.agent, deque(maxlen=64)).append(record.at)
        self._publish(records)
        self._records.extend(records)
        if self._records and self._flush_handle is None and not self._flushing:
            self._flush_handle = self.scheduler.call_later(FLUSH_DELAY, self._flush)
        deadline = self.acd.get_timer()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            self._timer = self.scheduler.call_later(max(0.0, deadline - self.wallclock()), self._on_timer)

    def _flush(self) -> None:
        self._flush_handle = None
        factory = self.uow_factory
        if not self._records or factory is None:
            self._records.clear()
            return
        batch, self._records = self._records, []
        self._flushing = True

        def done(_: object, error: BaseException | None) -> None:
            self._flushing = False
            if error is not None:
                _log.error("ACD records not stored (%d lost)", len(batch), exc_info=error)
            if self._records and self._flush_handle is None:
                self._flush_handle = self.scheduler.call_later(FLUSH_DELAY, self._flush)

        self.worker.submit(lambda: store_records(factory, batch), done)

    def _flush_now(self) -> None:
        factory = self.uow_factory
        if self._records and factory is not None:
            batch, self._records = self._records, []
            try:
                store_records(factory, batch)
            except Exception:
                _log.exception("ACD records not stored at stop (%d lost)", len(batch))

    def _execute(self, actions: list[aa.AcdAction]) -> None:
        for action in actions:
            try:
                self._do(action)
            except Exception:
                _log.exception("ACD action %r failed", action)

    def _do(self, action: aa.AcdAction) -> None:
        if isinstance(action, aa.RingAgent):
            self._ring(action.leg, action.call_id, action.agent, action.contact, "agent")
        elif isinstance(action, aa.DialCustomer):
            self._ring(action.leg, action.call_id, "", action.number, "customer")
        elif isinstance(action, aa.CancelLeg):
            leg = self._legs.get(action.leg)
            if leg is not None and not leg.cancelled:
                leg.cancelled = True
                if leg.sip is not None:
                    self.send(ev.Hangup(leg.sip))
        elif isinstance(action, aa.Bridge):
            self._bridge(action)
        else:
            queued = self._calls.get(action.call_id)
            if queued is None or queued.gone:
                if isinstance(action, aa.ExitQueue):
                    self._calls.pop(action.call_id, None)  # a call-back that could not be placed
                return
            self._to_caller(queued, action)

    def _to_caller(self, queued: _Queued, action: aa.AcdAction) -> None:
        call = queued.call
        if isinstance(action, aa.MusicOnHold):
            call.queue_hold(action.prompt)
        elif isinstance(action, aa.Announce):
            call.queue_say(announcement(action.position, action.estimated_wait))
        elif isinstance(action, aa.PlayComfort):
            call.queue_prompt(action.prompt)
        elif isinstance(action, aa.OfferCallback):
            call.queue_say(CALLBACK_OFFER)
        elif isinstance(action, aa.AcceptCallback):
            queued.callback = True
            call.queue_say(CALLBACK_ACCEPTED, then_hangup=True)
        elif isinstance(action, aa.ExitQueue):
            self._calls.pop(action.call_id, None)
            target = action.target
            number = target.number if isinstance(target, OverflowMobile) else None
            where = "hangup" if target is None else f"mobile {number}" if number else "voicemail"
            self.journal.write("acd_left", self.wallclock(), call=call.leg, call_id=call.call_id,
                               queue=queued.queue, reason=action.reason, to=where)
            call.queue_left(number, f"queue {queued.queue}: {action.reason} -> {where}")

    def _ring(self, leg_id: str, call_id: str, agent: str, contact: str,
              kind: Literal["agent", "customer"]) -> None:
        queued = self._calls.get(call_id)
        now = self.wallclock()
        if queued is None:
            self._later(ae.LegFailed(leg_id, 0, "no-call"))
            return
        call = queued.call
        if kind == "customer" and not phones.is_valid(contact):
            # the caller's number comes from the From header: only a mainland phone is called back, so a
            # spoofed premium or international number cannot make us dial it (toll fraud)
            self.journal.write("acd_leg_failed", now, leg=leg_id, contact=contact, reason="not-callable")
            self._later(ae.LegFailed(leg_id, 0, "not-callable"))
            return
        destination = self.policy.resolve_contact(contact, caller=call.caller, did=call.did)
        if isinstance(destination, Refusal):
            # our configuration, not the station's phones: no health failure
            self.journal.write("acd_leg_failed", now, leg=leg_id, agent=agent, contact=contact,
                               reason=destination.reason)
            self._later(ae.LegFailed(leg_id, 0, destination.reason))
            return
        session = self.media.open(f"{call.leg}>{leg_id}")
        if session is None:
            self.journal.write("acd_leg_failed", now, leg=leg_id, agent=agent, reason="no-media-port")
            self._later(ae.LegFailed(leg_id, 503, "no-media-port"))
            return
        self._sessions += 1
        offer = build_offer(local_ip=self.media_ip(), local_port=session.port, session_id=str(self._sessions),
                            session_version=1)
        leg = _Leg(leg_id, call_id, agent, kind, session, offer, queued.station, now)
        dial = ev.Dial(target=destination.uri, from_uri=f"sip:{destination.from_user}@{self.media_ip()}",
                       dest=destination.dest, sdp=offer.to_bytes(), credentials=destination.credentials)
        sip = self.send(dial)
        if sip is None:
            session.close()
            self._later(ae.LegFailed(leg_id, 503, "not-sent"))
            return
        leg.sip = sip
        self._legs[leg_id] = leg
        self._by_sip[sip] = leg
        self.journal.write("acd_dialled", now, call=call.leg, call_id=call_id, leg=sip, acd_leg=leg_id,
                           agent=agent, kind=destination.kind, uri=destination.uri)
        if kind == "agent":
            path, digits = call.queue_context()
            self._emit(live.CallOffered(call_id, agent, queued.queue, call.caller, call.did, now,
                                        waited=round(now - queued.entered, 3), leg=sip, ivr_path=path,
                                        digits=digits))

    def _bridge(self, action: aa.Bridge) -> None:
        queued = self._calls.get(action.call_id)
        agent_leg = self._legs.get(action.agent_leg)
        if queued is None or agent_leg is None:
            return
        now = self.clock()
        if action.customer_leg is not None:
            customer = self._legs.get(action.customer_leg)
            if customer is None:
                return
            queued.customer_leg = customer
            agent_leg.relay = bridge_media(customer.session, agent_leg.session, recorder=None, rng=self.rng,
                                           now=now)
        else:
            if self.media.get(queued.call.leg) is None:
                return
            queued.agent_leg = agent_leg
            definition = self._queues.get(queued.queue)
            if definition is not None and definition.config.whisper and self.speak is not None:
                self._whisper(queued, agent_leg, action)
                return
            self._connect(queued, agent_leg)
        queued.agent_leg = agent_leg
        self._bridged(queued, agent_leg, action)

    def _connect(self, queued: _Queued, agent_leg: _Leg) -> bool:
        """Relay the caller and the agent's leg (the caller's prompt stops; the recording goes on)."""
        caller = self.media.get(queued.call.leg)
        if caller is None:
            return False
        recorder = queued.call.queue_connected(agent_leg.agent)
        agent_leg.relay = bridge_media(caller, agent_leg.session, recorder=recorder, rng=self.rng,
                                       now=self.clock())
        return True

    def _whisper(self, queued: _Queued, agent_leg: _Leg, action: aa.Bridge) -> None:
        """Speak the queue's name to the agent alone, then connect the caller (who hears music meanwhile)."""
        speak = self.speak
        assert speak is not None
        text = whisper_text(queued.queue)

        def connect() -> None:
            alive = self._calls.get(action.call_id) is queued and not queued.gone
            if alive and agent_leg.sip in self._by_sip and self._connect(queued, agent_leg):
                self._bridged(queued, agent_leg, action)

        def spoken(prompt: Prompt | None, error: BaseException | None) -> None:
            if error is not None or prompt is None:
                _log.warning("whisper for %s not spoken", action.call_id, exc_info=error)
                connect()
                return

            def played(_feed: PlayerFeed) -> None:
                self.scheduler.call_soon(connect)  # from inside the pacer tick

            player = Player([prompt], agent_leg.session.law, barge_in="")
            agent_leg.session.play(PlayerFeed(player, self.clock, played))

        self.worker.submit(lambda: speak(text), spoken)

    def _bridged(self, queued: _Queued, agent_leg: _Leg, action: aa.Bridge) -> None:
        queued.bridged_at = self.wallclock()
        wait = round(queued.bridged_at - queued.entered, 3)
        self.journal.write("acd_bridged", queued.bridged_at, call=queued.call.leg, call_id=action.call_id,
                           agent=action.agent, leg=agent_leg.sip, wait=wait)
        self._emit(live.CallAnswered(action.call_id, action.agent, queued.queue, queued.bridged_at,
                                     waited=wait))

    def _later(self, event: ae.AcdEvent) -> None:
        """Feed ``event`` on the next loop pass (not from inside the action that caused it)."""
        self.scheduler.call_soon(lambda: self._feed(event))

    def _emit(self, event: live.LiveEvent) -> None:
        try:
            self.on_event(event)
        except Exception:
            _log.exception("live event hook failed")

    def _publish(self, records: Sequence[Record]) -> None:
        """Live events for the ACD's records: state changes, calls that ended for an agent or for good,
        and the figures of every queue whose waiting callers or free agents changed."""
        if not records:
            return
        for record in records:
            if isinstance(record, AgentStateChange):
                self._emit(live.AgentStateChanged(record.agent, record.state.value, record.at,
                                                  record.previous.value, record.reason, record.call_id))
                continue
            if record.ends_call:
                self._calls.pop(record.call_id, None)  # e.g. a call-back that failed: nothing left to do
            reason = _ENDED.get(record.event)
            if reason is not None and (record.ends_call or record.agent):
                self._emit(live.CallEnded(record.call_id, record.at, reason, record.agent, record.queue))
        self._publish_stats(every_waiting=False)

    def _publish_stats(self, *, every_waiting: bool) -> None:
        """``queue.stats`` of the queues whose figures changed (and, with ``every_waiting``, of every queue
        with callers waiting: their longest wait grows)."""
        now = self.wallclock()
        for name, definition in self._queues.items():
            waiting = self.acd.waiting(name)
            available = sum(
                1 for m in definition.members if self.acd.agent_state(m.agent) is AgentState.AVAILABLE)
            figures = (len(waiting), available)
            if self._stats.get(name) == figures and not (every_waiting and waiting):
                continue
            self._stats[name] = figures
            entered = [self._calls[c].entered for c in waiting if c in self._calls]
            longest = round(now - min(entered), 3) if entered else 0.0
            self._emit(live.QueueStats(name, now, len(waiting), longest, available))


class LegTaker(Protocol):
    """Something that takes endpoint events about its own outgoing legs."""

    def handle(self, event: object) -> bool: ...


class LegChain:
    """Several owners of outgoing legs as one (the switch asks each in turn)."""

    def __init__(self, *takers: LegTaker) -> None:
        self.takers = takers

    def handle(self, event: object) -> bool:
        """True when one of the takers took ``event``."""
        return any(taker.handle(event) for taker in self.takers)


_ENDED = {
    QueueEvent.RING_NO_ANSWER: "no-answer",
    QueueEvent.RING_REFUSED: "refused",
    QueueEvent.ABANDON: "abandon",
    QueueEvent.TIMEOUT: "timeout",
    QueueEvent.FULL: "full",
    QueueEvent.JOINEMPTY: "joinempty",
    QueueEvent.LEAVEEMPTY: "leaveempty",
    QueueEvent.COMPLETE_CALLER: "caller",
    QueueEvent.COMPLETE_AGENT: "agent",
    QueueEvent.TRANSFER: "transferred",
    QueueEvent.CALLBACK_FAILED: "callback-failed",
}
"""The ``call.ended`` reason of a queue log entry that ends a call (or one agent's ring of it)."""


def whisper_text(queue: str) -> str:
    """What the agent hears before a call of ``queue`` is connected."""
    return f"来自{queue}队列的来电。"


def _no_event(event: live.LiveEvent) -> None:
    """The default live event hook: nobody listens."""


CALLBACK_OFFER = "如果您不想继续等待，请按1，我们会保留您的位置并尽快给您回电。"
CALLBACK_ACCEPTED = "好的，我们会尽快给您回电，再见。"


def announcement(position: int | None, estimated_wait: float | None) -> str:
    """What a waiting caller hears: place in the queue and estimated wait, in Chinese."""
    parts: list[str] = []
    if position is not None:
        parts.append(f"您现在排在第{position}位")
    if estimated_wait is not None:
        minutes = math.ceil(estimated_wait / 60)
        parts.append("预计等待不到一分钟" if estimated_wait < 60 else f"预计等待约{minutes}分钟")
    return "，".join(parts) + "，请您耐心等待。" if parts else "请您耐心等待。"

