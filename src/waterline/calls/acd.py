"""The ACD engine, sans-IO: agents, queues of waiting callers, who rings when.

One :class:`Acd` serves every queue of a telephony engine, because an agent may answer several
queues and must never be rung for two calls at once. Like the flow engine it takes events
(:mod:`waterline.calls.acdevents`) plus ``now`` and returns actions
(:mod:`waterline.calls.acdactions`); timeouts come through ``get_timer()``/``handle_timer(now)``;
randomness (the ``random`` strategy) is an injected ``random.Random``. What happened is recorded as
queue log entries and agent state changes (:mod:`waterline.calls.queuelog`), handed over by
``take_records()`` for the store.

Calls are served oldest first across all queues ("autofill": several waiting calls may ring
different agents at once). With ``ring-all`` every free eligible member rings; with the other
strategies one agent at a time, the next one after a no-answer or refusal. An agent rings all
their contacts at once (phone and softphone); the first contact to answer takes the call.

A caller who accepted a call-back keeps the place; when an agent is picked for it the agent is
called first, then the customer (``DialCustomer``), then both are bridged.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

from waterline.calls.acdactions import (
    AcceptCallback,
    AcdAction,
    Announce,
    Bridge,
    CancelLeg,
    DialCustomer,
    ExitQueue,
    MusicOnHold,
    OfferCallback,
    PlayComfort,
    RingAgent,
)
from waterline.calls.acdevents import (
    AcdEvent,
    AgentInUse,
    AgentStateRequested,
    CallCompleted,
    CallEntered,
    CallerHungUp,
    CallerPressed,
    CallTransferred,
    LegAnswered,
    LegFailed,
    LegNoAnswer,
    LegRinging,
)
from waterline.calls.queue import (
    AgentState,
    OverflowQueue,
    OverflowVoicemail,
    QueueConfig,
    QueueMember,
    Strategy,
)
from waterline.calls.queuelog import AgentStateChange, QueueEvent, QueueLogEntry, Record

__all__ = ["RECENT_WAITS", "Acd"]

RECENT_WAITS = 20
"""How many recent answered waits of a queue the estimated wait is the mean of."""

_PRESENT = frozenset({AgentState.AVAILABLE, AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP})


class _Phase(Enum):
    WAITING = "waiting"  # in the queue (the caller on the line, or a kept call-back place)
    DIALING = "dialing"  # call-back: agent on the line, customer's phone ringing
    CONNECTED = "connected"


@dataclass
class _Agent:
    id: str
    contacts: tuple[str, ...]
    ring_timeout: float | None
    state: AgentState = AgentState.LOGGED_OUT
    idle_since: float = 0.0
    calls_taken: int = 0
    in_use: bool = False
    offer_call: str | None = None
    call: str | None = None
    wrap_until: float | None = None
    pending: tuple[AgentState, str] | None = None


@dataclass
class _Offer:
    agent: str
    legs: set[str]
    started: float
    deadline: float


@dataclass
class _Call:
    id: str
    caller: str
    queue: str
    seq: int
    first_joined: float
    joined: float
    visited: set[str]
    phase: _Phase = _Phase.WAITING
    callback: bool = False
    callback_offered: bool = False
    deadline: float | None = None
    next_announce: float | None = None
    next_comfort: float | None = None
    callback_at: float | None = None
    offers: dict[str, _Offer] = field(default_factory=dict)
    cooldown: dict[str, float] = field(default_factory=dict)
    agent: str | None = None
    agent_leg: str | None = None
    customer_leg: str | None = None
    customer_deadline: float | None = None
    connected_at: float = 0.0


@dataclass
class _Queue:
    config: QueueConfig
    members: dict[str, int]
    waiting: list[str] = field(default_factory=list)
    last_rung: str | None = None
    recent_waits: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_WAITS))


@dataclass(frozen=True)
class _Leg:
    call_id: str
    agent: str
    kind: Literal["agent", "customer"]


class Acd:
    """Automatic call distribution over all queues and agents of one engine.

    Configure with :meth:`configure_queue` and :meth:`configure_agent` (agents start logged out),
    then feed events with :meth:`handle` and timers with :meth:`handle_timer`.
    """

    def __init__(self, *, rng: random.Random) -> None:
        self._rng = rng
        self._queues: dict[str, _Queue] = {}
        self._agents: dict[str, _Agent] = {}
        self._calls: dict[str, _Call] = {}
        self._legs: dict[str, _Leg] = {}
        self._records: list[Record] = []
        self._seq = 0
        self._leg_seq = 0
        self._last = float("-inf")

    # configuration and queries

    def configure_queue(self, config: QueueConfig, members: Sequence[QueueMember]) -> None:
        """Add or replace a queue; calls waiting in it keep their places."""
        existing = self._queues.get(config.name)
        members_map = {member.agent: member.tier for member in members}
        if existing is None:
            self._queues[config.name] = _Queue(config, members_map)
        else:
            existing.config = config
            existing.members = members_map

    def configure_agent(
        self, agent: str, contacts: Sequence[str], *, ring_timeout: float | None = None
    ) -> None:
        """Add an agent (logged out) or change their contacts and own ring timeout."""
        existing = self._agents.get(agent)
        if existing is None:
            self._agents[agent] = _Agent(agent, tuple(contacts), ring_timeout)
        else:
            existing.contacts = tuple(contacts)
            existing.ring_timeout = ring_timeout

    def reset_daily_counts(self) -> None:
        """Start a new day for ``fewest-calls`` (the driver calls it at midnight)."""
        for agent in self._agents.values():
            agent.calls_taken = 0

    def agent_state(self, agent: str) -> AgentState:
        """The agent's current state (``logged_out`` for an unknown agent)."""
        found = self._agents.get(agent)
        return found.state if found is not None else AgentState.LOGGED_OUT

    def agent_states(self) -> dict[str, AgentState]:
        """Every configured agent's state (for the supervisor channel)."""
        return {agent.id: agent.state for agent in self._agents.values()}

    def calls_taken(self, agent: str) -> int:
        """Calls the agent answered since the last :meth:`reset_daily_counts`."""
        found = self._agents.get(agent)
        return found.calls_taken if found is not None else 0

    def waiting(self, queue: str) -> list[str]:
        """Call ids waiting in ``queue``, first in line first (kept call-back places included)."""
        found = self._queues.get(queue)
        return list(found.waiting) if found is not None else []

    def estimated_wait(self, queue: str) -> float | None:
        """Mean of the queue's recent answered waits; ``None`` before any call was answered."""
        found = self._queues.get(queue)
        if found is None or not found.recent_waits:
            return None
        return sum(found.recent_waits) / len(found.recent_waits)

    def take_records(self) -> list[Record]:
        """Queue log entries and agent state changes since the last call, oldest first."""
        records, self._records = self._records, []
        return records

    # input

    def handle(self, event: AcdEvent, now: float) -> list[AcdAction]:
        """Feed one event; returns what the driver must do."""
        self._last = max(self._last, now)
        out: list[AcdAction] = []
        match event:
            case CallEntered():
                self._enter(event, now, out)
            case AgentStateRequested():
                self._request_state(event, now, out)
            case AgentInUse():
                agent = self._agents.get(event.agent)
                if agent is not None:
                    agent.in_use = event.in_use
            case LegRinging():
                pass  # the ring timeout runs from RingAgent; ringing changes nothing here
            case LegAnswered():
                self._answered(event.leg, now, out)
            case LegFailed():
                self._leg_ended(event.leg, now, out, f"{event.status}", QueueEvent.RING_REFUSED)
            case LegNoAnswer():
                self._leg_ended(event.leg, now, out, "no-answer", QueueEvent.RING_NO_ANSWER)
            case CallerHungUp():
                self._caller_hung_up(event.call_id, now, out)
            case CallerPressed():
                self._pressed(event, now, out)
            case CallCompleted():
                event_kind = QueueEvent.COMPLETE_CALLER if event.by == "caller" else QueueEvent.COMPLETE_AGENT
                self._completed(event.call_id, event_kind, "", now)
            case CallTransferred():
                self._completed(event.call_id, QueueEvent.TRANSFER, event.target, now)
        self._leave_empty(now, out)
        self._dispatch(now, out)
        return out

    def get_timer(self) -> float | None:
        """Absolute time of the next thing the ACD must do by itself, or ``None``."""
        times: list[float] = []
        for agent in self._agents.values():
            if agent.wrap_until is not None:
                times.append(agent.wrap_until)
        for call in self._calls.values():
            times.extend(offer.deadline for offer in call.offers.values())
            if call.customer_deadline is not None:
                times.append(call.customer_deadline)
            if call.phase is not _Phase.WAITING:
                continue
            for moment in (call.deadline, call.next_announce, call.next_comfort, call.callback_at):
                if moment is not None:
                    times.append(moment)
            # moments when an agent may become eligible for this call: a tier's turn, a cooldown's end
            config = self._queues[call.queue].config
            later = [call.joined + tier.after_seconds for tier in config.tiers]
            later.extend(call.cooldown.values())
            times.extend(t for t in later if t > self._last)
        return min(times) if times else None

    def handle_timer(self, now: float) -> list[AcdAction]:
        """Do what is due at ``now`` (early calls are harmless)."""
        self._last = max(self._last, now)
        out: list[AcdAction] = []
        for call in list(self._calls.values()):
            for offer in list(call.offers.values()):
                if offer.deadline <= now:
                    rung = now - offer.started
                    self._log(now, call, QueueEvent.RING_NO_ANSWER, agent=offer.agent, wait=rung)
                    self._end_offer(call, offer.agent, now, out, "no-answer", cooldown=True)
            if call.customer_deadline is not None and call.customer_deadline <= now:
                self._callback_failed(call, "no-answer", now, out)
        for agent in self._agents.values():
            if agent.wrap_until is not None and agent.wrap_until <= now:
                agent.wrap_until = None
                if agent.pending is not None:
                    self._apply_pending(agent, now)
                else:
                    self._set_state(agent, AgentState.AVAILABLE, "wrap-up-done", now)
        for call in list(self._calls.values()):
            if call.phase is _Phase.WAITING and not call.callback:
                self._waiting_timers(call, now, out)
        self._dispatch(now, out)
        return out

    # callers

    def _enter(self, event: CallEntered, now: float, out: list[AcdAction]) -> None:
        if event.call_id in self._calls:
            return
        queue = self._queues.get(event.queue)
        if queue is None:
            out.append(ExitQueue(event.call_id, "unknown-queue", None))
            return
        self._seq += 1
        call = _Call(event.call_id, event.caller, event.queue, self._seq, now, now, {event.queue})
        self._calls[call.id] = call
        refusal = self._refusal(queue)
        if refusal is not None:
            self._overflow(call, refusal, now, out)
            return
        self._join(call, queue, now, out)

    def _refusal(self, queue: _Queue) -> QueueEvent | None:
        config = queue.config
        if config.max_length is not None and len(queue.waiting) >= config.max_length:
            return QueueEvent.FULL
        if not config.join_when_empty and self._empty(queue):
            return QueueEvent.JOINEMPTY
        return None

    def _join(self, call: _Call, queue: _Queue, now: float, out: list[AcdAction]) -> None:
        config = queue.config
        call.queue = config.name
        call.joined = now
        call.visited.add(config.name)
        queue.waiting.append(call.id)
        call.deadline = now + config.max_wait if config.max_wait is not None else None
        announcing = config.announce_position or config.announce_wait
        call.next_announce = (
            now + config.announce_every if config.announce_every is not None and announcing else None
        )
        call.next_comfort = now + config.comfort_every if config.comfort_every is not None else None
        if config.callback_after is not None and not call.callback_offered:
            call.callback_at = now + config.callback_after
        self._log(now, call, QueueEvent.ENTER, position=len(queue.waiting))
        out.append(MusicOnHold(call.id, config.music_on_hold))

    def _waiting_timers(self, call: _Call, now: float, out: list[AcdAction]) -> None:
        queue = self._queues[call.queue]
        config = queue.config
        if call.deadline is not None and call.deadline <= now:
            self._overflow(call, QueueEvent.TIMEOUT, now, out)
            return
        if call.next_announce is not None and call.next_announce <= now and config.announce_every is not None:
            position = queue.waiting.index(call.id) + 1 if config.announce_position else None
            wait = self.estimated_wait(config.name) if config.announce_wait else None
            if position is not None or wait is not None:
                out.append(Announce(call.id, position, wait))
            call.next_announce = now + config.announce_every
        if call.next_comfort is not None and call.next_comfort <= now and config.comfort_every is not None:
            out.append(PlayComfort(call.id, config.comfort_prompt or ""))
            call.next_comfort = now + config.comfort_every
        if call.callback_at is not None and call.callback_at <= now:
            call.callback_at = None
            call.callback_offered = True
            out.append(OfferCallback(call.id))

    def _pressed(self, event: CallerPressed, now: float, out: list[AcdAction]) -> None:
        call = self._calls.get(event.call_id)
        if call is None or call.phase is not _Phase.WAITING or call.callback:
            return
        if event.digit != "1" or not call.callback_offered:
            return
        call.callback = True
        call.deadline = call.next_announce = call.next_comfort = None
        position = self._queues[call.queue].waiting.index(call.id) + 1
        self._log(now, call, QueueEvent.CALLBACK_REQUESTED, position=position, wait=now - call.joined)
        out.append(AcceptCallback(call.id))

    def _caller_hung_up(self, call_id: str, now: float, out: list[AcdAction]) -> None:
        call = self._calls.get(call_id)
        if call is None:
            return
        if call.phase is _Phase.CONNECTED:
            self._completed(call_id, QueueEvent.COMPLETE_CALLER, "", now)
        elif call.phase is _Phase.WAITING and not call.callback:
            queue = self._queues[call.queue]
            position = queue.waiting.index(call.id) + 1
            self._log(now, call, QueueEvent.ABANDON, position=position, wait=now - call.joined)
            self._end_all_offers(call, now, out, "caller-abandoned")
            self._forget(call)
        # a call-back's caller leg is already gone: its hang-up changes nothing

    def _overflow(self, call: _Call, reason: QueueEvent, now: float, out: list[AcdAction]) -> None:
        """The caller must leave the current queue: walk its overflow chain."""
        current = self._queues[call.queue]
        position = current.waiting.index(call.id) + 1 if call.id in current.waiting else None
        wait = now - call.joined
        self._end_all_offers(call, now, out, reason.value)
        if call.id in current.waiting:
            current.waiting.remove(call.id)
        for target in current.config.overflow:
            if isinstance(target, OverflowQueue):
                other = self._queues.get(target.queue)
                if other is None or target.queue in call.visited or self._refusal(other) is not None:
                    continue
                self._log(now, call, reason, position=position, wait=wait, detail=f"queue:{target.queue}")
                self._join(call, other, now, out)
                return
            detail = "voicemail" if isinstance(target, OverflowVoicemail) else f"mobile:{target.number}"
            self._log(now, call, reason, position=position, wait=wait, detail=detail)
            out.append(ExitQueue(call.id, reason.value, target))
            self._forget(call)
            return
        self._log(now, call, reason, position=position, wait=wait, detail="hangup")
        out.append(ExitQueue(call.id, reason.value, None))
        self._forget(call)

    def _leave_empty(self, now: float, out: list[AcdAction]) -> None:
        for queue in list(self._queues.values()):
            if not queue.config.leave_when_empty or not queue.waiting or not self._empty(queue):
                continue
            for call_id in list(queue.waiting):
                call = self._calls[call_id]
                if not call.callback and call.queue == queue.config.name:
                    self._overflow(call, QueueEvent.LEAVEEMPTY, now, out)

    def _empty(self, queue: _Queue) -> bool:
        return not any(
            agent in self._agents and self._agents[agent].state in _PRESENT for agent in queue.members
        )

    # agents

    def _request_state(self, event: AgentStateRequested, now: float, out: list[AcdAction]) -> None:
        agent = self._agents.get(event.agent)
        if agent is None:
            return
        wanted = AgentState(event.state)
        if wanted is AgentState.AVAILABLE:
            reason = {
                AgentState.LOGGED_OUT: "login",
                AgentState.PAUSED: "unpause",
                AgentState.WRAP_UP: "wrap-up-ended-early",
            }.get(agent.state)
            agent.pending = None
            if reason is None:
                return  # already available, ringing or on a call
            if agent.state is AgentState.LOGGED_OUT:
                agent.idle_since = now
            agent.wrap_until = None
            self._set_state(agent, AgentState.AVAILABLE, event.reason or reason, now)
            return
        if agent.state is AgentState.LOGGED_OUT:
            if wanted is AgentState.LOGGED_OUT:
                return
            agent.idle_since = now  # a login straight into a pause
        label = "pause" if wanted is AgentState.PAUSED else "logout"
        reason = f"{label}:{event.reason}" if event.reason else label
        if agent.state is AgentState.ON_CALL:
            agent.pending = (wanted, reason)
            return
        agent.wrap_until = None
        if agent.state is AgentState.RINGING and agent.offer_call is not None:
            # the ring is cancelled and the agent goes straight to what they asked for
            agent.pending = (wanted, reason)
            self._end_offer(self._calls[agent.offer_call], agent.id, now, out, reason, cooldown=False)
            return
        self._set_state(agent, wanted, reason, now)

    def _set_state(
        self, agent: _Agent, state: AgentState, reason: str, now: float, call_id: str = ""
    ) -> None:
        if agent.state is state and state is not AgentState.PAUSED:
            return
        previous, agent.state = agent.state, state
        self._records.append(AgentStateChange(now, agent.id, previous, state, reason, call_id))

    def _release(self, agent_id: str, now: float, wrap_up: float, reason: str) -> None:
        """The agent's call (or call-back attempt) is over: wrap-up, then available (or what they asked)."""
        agent = self._agents.get(agent_id)
        if agent is None:
            return
        call_id = agent.call or ""
        agent.call = None
        agent.idle_since = now
        # on_call -> paused is not a transition of the agent state table (domain.agents): a pause
        # asked during the call comes after the wrap-up (or after a moment of available)
        if agent.pending is not None and agent.pending[0] is AgentState.LOGGED_OUT:
            self._apply_pending(agent, now, call_id)
        elif wrap_up > 0:
            agent.wrap_until = now + wrap_up
            self._set_state(agent, AgentState.WRAP_UP, reason, now, call_id)
        else:
            self._set_state(agent, AgentState.AVAILABLE, reason, now, call_id)
            self._apply_pending(agent, now, call_id)

    def _apply_pending(self, agent: _Agent, now: float, call_id: str = "") -> None:
        if agent.pending is not None:
            state, why = agent.pending
            agent.pending = None
            self._set_state(agent, state, why, now, call_id)

    # rings

    def _dispatch(self, now: float, out: list[AcdAction]) -> None:
        """Ring free agents for waiting calls, oldest call first."""
        waiting = sorted(
            (call for call in self._calls.values() if call.phase is _Phase.WAITING),
            key=lambda call: (call.first_joined, call.seq),
        )
        for call in waiting:
            queue = self._queues[call.queue]
            strategy = queue.config.strategy
            if call.offers and strategy is not Strategy.RING_ALL:
                continue
            candidates = [agent for agent in queue.members if self._eligible(agent, call, queue, now)]
            if not candidates:
                continue
            if strategy is Strategy.RING_ALL:
                picks = candidates
            else:
                lowest = min(queue.members[agent] for agent in candidates)
                tier = [agent for agent in candidates if queue.members[agent] == lowest]
                picks = [self._pick(queue, tier)]
            for agent_id in picks:
                self._ring(call, queue, self._agents[agent_id], now, out)

    def _eligible(self, agent_id: str, call: _Call, queue: _Queue, now: float) -> bool:
        agent = self._agents.get(agent_id)
        if agent is None or agent.state is not AgentState.AVAILABLE or not agent.contacts:
            return False
        if agent.offer_call is not None or agent.call is not None:
            return False
        if agent.in_use and not queue.config.ring_in_use:
            return False
        if call.cooldown.get(agent_id, float("-inf")) > now:
            return False
        return now - call.joined >= queue.config.tier_after(queue.members[agent_id])

    def _pick(self, queue: _Queue, candidates: list[str]) -> str:
        strategy = queue.config.strategy
        agents = self._agents
        if strategy is Strategy.LONGEST_IDLE:
            return min(candidates, key=lambda a: (agents[a].idle_since, a))
        if strategy is Strategy.FEWEST_CALLS:
            return min(candidates, key=lambda a: (agents[a].calls_taken, agents[a].idle_since, a))
        if strategy is Strategy.RANDOM:
            return self._rng.choice(sorted(candidates))
        # round-robin: the first candidate after the member rung last, in member order
        order = list(queue.members)
        start = order.index(queue.last_rung) + 1 if queue.last_rung in queue.members else 0
        rotated = order[start:] + order[:start]
        return next(agent for agent in rotated if agent in candidates)

    def _ring(self, call: _Call, queue: _Queue, agent: _Agent, now: float, out: list[AcdAction]) -> None:
        timeout = agent.ring_timeout if agent.ring_timeout is not None else queue.config.ring_timeout
        legs: set[str] = set()
        for contact in agent.contacts:
            leg = self._new_leg(call.id, agent.id, "agent")
            legs.add(leg)
            out.append(
                RingAgent(leg, call.id, agent.id, contact, timeout, call.caller, call.queue, call.callback)
            )
        call.offers[agent.id] = _Offer(agent.id, legs, now, now + timeout)
        agent.offer_call = call.id
        queue.last_rung = agent.id
        self._set_state(agent, AgentState.RINGING, "ring", now, call.id)

    def _new_leg(self, call_id: str, agent: str, kind: Literal["agent", "customer"]) -> str:
        self._leg_seq += 1
        leg = f"{call_id}~{self._leg_seq}"
        self._legs[leg] = _Leg(call_id, agent, kind)
        return leg

    def _end_offer(
        self, call: _Call, agent_id: str, now: float, out: list[AcdAction], reason: str, *, cooldown: bool
    ) -> None:
        """Stop ringing ``agent_id`` for ``call``: cancel the legs still ringing, free the agent."""
        offer = call.offers.pop(agent_id)
        for leg in sorted(offer.legs):
            self._legs.pop(leg, None)
            out.append(CancelLeg(leg, reason))
        if cooldown:
            call.cooldown[agent_id] = now + self._queues[call.queue].config.retry_seconds
        agent = self._agents.get(agent_id)
        if agent is not None and agent.offer_call == call.id:
            agent.offer_call = None
            if agent.state is AgentState.RINGING:
                if agent.pending is not None:
                    self._apply_pending(agent, now, call.id)
                else:
                    self._set_state(agent, AgentState.AVAILABLE, reason, now, call.id)

    def _end_all_offers(self, call: _Call, now: float, out: list[AcdAction], reason: str) -> None:
        for agent_id in list(call.offers):
            self._end_offer(call, agent_id, now, out, reason, cooldown=False)

    def _leg_ended(self, leg: str, now: float, out: list[AcdAction], detail: str, kind: QueueEvent) -> None:
        found = self._legs.pop(leg, None)
        if found is None:
            return
        call = self._calls[found.call_id]
        if found.kind == "customer":
            self._callback_failed(call, detail, now, out, leg_gone=True)
            return
        offer = call.offers[found.agent]
        offer.legs.discard(leg)
        if kind is QueueEvent.RING_NO_ANSWER:
            self._log(now, call, kind, agent=found.agent, wait=now - offer.started)
        else:
            self._log(now, call, kind, agent=found.agent, detail=detail)
        if not offer.legs:
            reason = "no-answer" if kind is QueueEvent.RING_NO_ANSWER else f"refused-{detail}"
            self._end_offer(call, found.agent, now, out, reason, cooldown=True)

    def _answered(self, leg: str, now: float, out: list[AcdAction]) -> None:
        found = self._legs.pop(leg, None)
        if found is None:
            out.append(CancelLeg(leg, "not-waited-for"))
            return
        call = self._calls[found.call_id]
        if found.kind == "customer":
            self._callback_connected(call, leg, now, out)
            return
        agent = self._agents[found.agent]
        offer = call.offers.pop(found.agent)
        offer.legs.discard(leg)
        for other in sorted(offer.legs):
            self._legs.pop(other, None)
            out.append(CancelLeg(other, "answered-elsewhere"))
        agent.offer_call = None
        self._end_all_offers(call, now, out, "answered-elsewhere")
        queue = self._queues[call.queue]
        position = queue.waiting.index(call.id) + 1
        queue.waiting.remove(call.id)
        call.agent, call.agent_leg = agent.id, leg
        agent.call = call.id
        if call.callback:
            call.phase = _Phase.DIALING
            customer = self._new_leg(call.id, agent.id, "customer")
            call.customer_leg = customer
            timeout = queue.config.callback_ring_timeout
            call.customer_deadline = now + timeout
            self._set_state(agent, AgentState.ON_CALL, "callback", now, call.id)
            out.append(DialCustomer(customer, call.id, call.caller, leg, timeout))
            return
        call.phase = _Phase.CONNECTED
        call.connected_at = now
        wait = now - call.joined
        queue.recent_waits.append(wait)
        agent.calls_taken += 1
        self._log(now, call, QueueEvent.CONNECT, agent=agent.id, position=position, wait=wait)
        self._set_state(agent, AgentState.ON_CALL, "answered", now, call.id)
        out.append(Bridge(call.id, agent.id, leg))

    # call-backs and the end of calls

    def _callback_connected(self, call: _Call, leg: str, now: float, out: list[AcdAction]) -> None:
        if call.agent is None or call.agent_leg is None:
            return
        call.phase = _Phase.CONNECTED
        call.connected_at = now
        call.customer_deadline = None
        self._agents[call.agent].calls_taken += 1
        self._log(now, call, QueueEvent.CALLBACK_CONNECTED, agent=call.agent, wait=now - call.first_joined)
        out.append(Bridge(call.id, call.agent, call.agent_leg, leg))

    def _callback_failed(
        self, call: _Call, detail: str, now: float, out: list[AcdAction], *, leg_gone: bool = False
    ) -> None:
        if call.phase is not _Phase.DIALING:
            return
        if not leg_gone and call.customer_leg is not None:
            self._legs.pop(call.customer_leg, None)
            out.append(CancelLeg(call.customer_leg, "no-answer"))
        if call.agent_leg is not None:
            out.append(CancelLeg(call.agent_leg, "callback-failed"))
        self._log(now, call, QueueEvent.CALLBACK_FAILED, agent=call.agent or "", detail=detail)
        if call.agent is not None:
            self._release(call.agent, now, 0.0, "callback-failed")
        self._forget(call)

    def _completed(self, call_id: str, kind: QueueEvent, detail: str, now: float) -> None:
        call = self._calls.get(call_id)
        if call is None or call.phase is not _Phase.CONNECTED:
            return
        self._log(now, call, kind, agent=call.agent or "", wait=now - call.connected_at, detail=detail)
        if call.agent is not None:
            wrap = self._queues[call.queue].config.wrap_up_seconds
            self._release(call.agent, now, wrap, "wrap-up" if wrap > 0 else kind.value)
        self._forget(call)

    def _forget(self, call: _Call) -> None:
        queue = self._queues.get(call.queue)
        if queue is not None and call.id in queue.waiting:
            queue.waiting.remove(call.id)
        for leg in [leg for leg, found in self._legs.items() if found.call_id == call.id]:
            del self._legs[leg]
        del self._calls[call.id]

    def _log(
        self,
        now: float,
        call: _Call,
        event: QueueEvent,
        *,
        agent: str = "",
        position: int | None = None,
        wait: float | None = None,
        detail: str = "",
    ) -> None:
        self._records.append(QueueLogEntry(now, call.queue, call.id, event, agent, position, wait, detail))

