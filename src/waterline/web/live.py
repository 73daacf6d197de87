"""Live events inside one web worker: who is connected, what each one is sent, and the customer card.

Every web worker process holds one :class:`LiveHub`. Its channel to the engine
(``adapters.livechannel.LiveClient``) hands it every event of the engine; the hub keeps the current
picture (agent states, queue stats, the calls agents have now) and pushes messages to the WebSockets
connected to *this* worker:

- an agent's sockets (``/ws/agent``) get only that agent's calls and state, plus queue stats. A
  ``call.offered`` carries the customer card, looked up here once per offer (prepared already when
  the caller entered the queue, ``call.queued``), in a worker thread: the store is never read on the
  event loop. Later messages of the same call wait for the offer, so the browser always sees offered
  -> answered -> ended in that order;
- supervisors' sockets (``/ws/supervisor``) get everything except the cards.

Messages are JSON objects with a ``type`` (the event name, or ``hello``, ``snapshot``, ``engine``) and
the event's fields; see :mod:`waterline.calls.live` for the fields. Each socket has a bounded queue: a
browser that stops reading is disconnected (close code 1013) and reconnects, it never slows others.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from waterline.calls.live import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallQueued,
    Command,
    Hello,
    LiveEvent,
    QueueStats,
    Reply,
    event_data,
)

__all__ = ["CardLookup", "LiveCommands", "LiveHub", "Subscription"]

_log = logging.getLogger(__name__)

SOCKET_QUEUE = 256
"""Messages waiting for one browser at most; beyond that it is disconnected."""
CARD_TTL = 60.0
"""Seconds a looked-up card is reused (a caller rung at several agents in turn)."""
CARD_CACHE = 1024
MAX_CALLS = 5000
WARM_UP_NUMBER = "13800000000"

CardLookup = Callable[[str, str | None], Mapping[str, Any] | None]
"""Blocking: the customer card of a caller number (with the region the flow found), or None."""
Message = dict[str, Any]


class LiveCommands(Protocol):
    """The engine end of the channel as the hub needs it (``adapters.livechannel.LiveClient``)."""

    @property
    def connected(self) -> bool:
        """True while the engine is connected."""
        ...

    async def command(self, command: Command, timeout: float = 5.0) -> Reply:
        """Send ``command`` and wait for the engine's reply."""
        ...


class Subscription:
    """The outgoing messages of one WebSocket (encoded JSON text)."""

    def __init__(self, limit: int = SOCKET_QUEUE) -> None:
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(limit + 1)
        self._limit = limit
        self.overflowed = False

    def put(self, text: str) -> None:
        """Queue ``text``; a socket already ``limit`` messages behind is marked overflowed instead."""
        if self.overflowed:
            return
        if self._queue.qsize() >= self._limit:
            self.overflowed = True
            self._queue.put_nowait(None)
            return
        self._queue.put_nowait(text)

    @property
    def pending(self) -> int:
        """Messages queued and not yet taken."""
        return self._queue.qsize()

    async def get(self) -> str | None:
        """The next message, or None once the socket overflowed (close it)."""
        return await self._queue.get()


@dataclass
class _Call:
    offer: Message
    card: Mapping[str, Any] | None = None
    answered: Message | None = None


def _message(event: LiveEvent) -> Message:
    return {"type": event.NAME, **event_data(event)}


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class LiveHub:
    """The live picture of one web worker and its connected WebSockets; use on the worker's loop
    (except :meth:`notify_threadsafe`)."""

    def __init__(
        self,
        card: CardLookup | None,
        *,
        clock: Callable[[], float] = time.time,
        card_ttl: float = CARD_TTL,
        socket_queue: int = SOCKET_QUEUE,
    ) -> None:
        self.channel: LiveCommands | None = None
        self.engine: str | None = None
        self.cards_looked_up = 0
        self.card_errors = 0
        self.overflowed = 0
        self._card = card
        self._clock = clock
        self._card_ttl = card_ttl
        self._socket_queue = socket_queue
        self._agents: dict[str, set[Subscription]] = {}
        self._supervisors: set[Subscription] = set()
        self._agent_states: dict[str, Message] = {}
        self._queue_stats: dict[str, Message] = {}
        self._calls: OrderedDict[tuple[str, str], _Call] = OrderedDict()
        self._cards: OrderedDict[str, tuple[float, asyncio.Task[Mapping[str, Any] | None]]] = OrderedDict()
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._notices: set[asyncio.Task[Reply | None]] = set()

    @property
    def connected(self) -> bool:
        """True while the engine is connected."""
        return self.channel is not None and self.channel.connected

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the worker's loop (for :meth:`notify_threadsafe`)."""
        self._loop = loop

    async def warm_up(self, callers: Iterable[str] = (WARM_UP_NUMBER,)) -> None:
        """Look cards up before the first call needs one: the store's first connection, its statements,
        the number tables and the schemas are ready then, not during the first ring. Give an unknown
        and a known caller to cover both paths; errors are only logged."""
        if self._card is None:
            return
        for caller in callers:
            try:
                await asyncio.to_thread(self._card, caller, None)
            except Exception:
                _log.exception("customer card warm-up failed")

    # ------------------------------------------------------------------------------ engine side

    def on_hello(self, hello: Hello) -> None:
        """The engine (re)connected: forget the old picture, its snapshot follows."""
        self.engine = hello.engine
        self._agent_states.clear()
        self._queue_stats.clear()
        self._calls.clear()
        self._broadcast({"type": "engine", "connected": True})

    def on_lost(self) -> None:
        """The engine went away (restart or stop)."""
        self._broadcast({"type": "engine", "connected": False})

    def on_event(self, event: LiveEvent) -> None:
        """Take one event of the engine."""
        message = _message(event)
        if isinstance(event, CallOffered):
            self._offered(event, message)
        elif isinstance(event, CallAnswered):
            call = self._calls.get((event.call_id, event.agent))
            if call is not None:
                call.answered = message
            self._to_supervisors(message)
            self._to_agent_in_order(event.call_id, event.agent, message)
        elif isinstance(event, CallEnded):
            ended = [key for key in self._calls if key[0] == event.call_id and event.agent in ("", key[1])]
            for key in ended:
                del self._calls[key]
            self._to_supervisors(message)
            for agent in {key[1] for key in ended} | ({event.agent} if event.agent else set()):
                self._to_agent_in_order(event.call_id, agent, message)
        elif isinstance(event, AgentStateChanged):
            self._agent_states[event.agent] = message
            self._to_supervisors(message)
            self._to_agent(event.agent, message)
        elif isinstance(event, QueueStats):
            self._queue_stats[event.queue] = message
            self._broadcast(message)
        elif isinstance(event, CallQueued):
            if self._agents:
                self._card_task(event.caller, event.region)
            self._to_supervisors(message)

    def _offered(self, event: CallOffered, message: Message) -> None:
        call = _Call(message)
        key = (event.call_id, event.agent)
        self._calls[key] = call
        self._calls.move_to_end(key)
        while len(self._calls) > MAX_CALLS:
            self._calls.popitem(last=False)
        self._to_supervisors(message)
        if self._agents.get(event.agent):
            self._send_offer(key, call)

    def _send_offer(self, key: tuple[str, str], call: _Call) -> None:
        task = self._card_task(call.offer["caller"], call.offer.get("region"))

        async def send() -> None:
            try:
                call.card = await asyncio.shield(task)
            except Exception:
                call.card = None
            self._to_agent(key[1], {**call.offer, "card": call.card})

        self._in_order(key[0], send)

    def _card_task(self, caller: str, region: str | None) -> asyncio.Task[Mapping[str, Any] | None]:
        now = self._clock()
        cached = self._cards.get(caller)
        if cached is not None and now - cached[0] < self._card_ttl:
            return cached[1]
        task = asyncio.get_running_loop().create_task(self._look_up(caller, region))
        self._cards[caller] = (now, task)
        self._cards.move_to_end(caller)
        while len(self._cards) > CARD_CACHE:
            self._cards.popitem(last=False)
        return task

    async def _look_up(self, caller: str, region: str | None) -> Mapping[str, Any] | None:
        if self._card is None:
            return None
        self.cards_looked_up += 1
        try:
            return await asyncio.to_thread(self._card, caller, region)
        except Exception:
            self.card_errors += 1
            _log.exception("customer card lookup failed for a call")
            return None

    def _in_order(self, call_id: str, send: Callable[[], Coroutine[Any, Any, None]]) -> None:
        previous = self._tails.get(call_id)

        async def run() -> None:
            if previous is not None:
                await asyncio.wait([previous])  # its outcome is its own: only the order matters here
            await send()

        task = asyncio.get_running_loop().create_task(run())
        self._tails[call_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._tails.get(call_id) is done:
                del self._tails[call_id]

        task.add_done_callback(forget)

    def _to_agent_in_order(self, call_id: str, agent: str, message: Message) -> None:
        if not self._agents.get(agent):
            return
        if call_id in self._tails:

            async def send() -> None:
                self._to_agent(agent, message)

            self._in_order(call_id, send)
        else:
            self._to_agent(agent, message)

    # ---------------------------------------------------------------------------- sending

    def _put(self, subscriptions: Iterable[Subscription], text: str) -> None:
        for subscription in subscriptions:
            was = subscription.overflowed
            subscription.put(text)
            if subscription.overflowed and not was:
                self.overflowed += 1

    def _to_agent(self, agent: str, message: Message) -> None:
        subscriptions = self._agents.get(agent)
        if subscriptions:
            self._put(list(subscriptions), _encode(message))

    def _to_supervisors(self, message: Message) -> None:
        if self._supervisors:
            self._put(list(self._supervisors), _encode(message))

    def _broadcast(self, message: Message) -> None:
        text = _encode(message)
        self._put(list(self._supervisors), text)
        for subscriptions in list(self._agents.values()):
            self._put(list(subscriptions), text)

    # ------------------------------------------------------------------------------ browsers

    def attach_agent(self, agent: str, stored_state: Mapping[str, Any] | None = None) -> Subscription:
        """A WebSocket of ``agent`` opened: greet it with his state and the calls he has now."""
        subscription = Subscription(self._socket_queue)
        self._agents.setdefault(agent, set()).add(subscription)
        state = self._agent_states.get(agent) or stored_state
        subscription.put(_encode({"type": "hello", "agent": agent, "engine": self.connected, "state": state}))
        for text in [_encode(m) for m in self._queue_stats.values()]:
            subscription.put(text)
        for key, call in list(self._calls.items()):
            if key[1] != agent:
                continue
            if call.card is not None:
                subscription.put(_encode({**call.offer, "card": call.card}))
                if call.answered is not None:
                    subscription.put(_encode(call.answered))
            else:
                self._send_offer(key, call)
                if call.answered is not None:
                    self._to_agent_in_order(key[0], agent, call.answered)
        return subscription

    def attach_supervisor(self, stored_agents: Iterable[Mapping[str, Any]] = ()) -> Subscription:
        """A supervisor's WebSocket opened: greet it with a snapshot of agents, queues and calls.

        ``stored_agents`` are the agents as the store has them (``agent``, ``state``, ``since``...);
        the states the engine reported since override them.
        """
        subscription = Subscription(self._socket_queue)
        self._supervisors.add(subscription)
        agents = {str(row["agent"]): dict(row) for row in stored_agents}
        for name, message in self._agent_states.items():
            agents[name] = {**agents.get(name, {}), **message}
        calls = []
        for call in self._calls.values():
            calls.append(call.offer)
            if call.answered is not None:
                calls.append(call.answered)
        subscription.put(_encode({"type": "hello", "engine": self.connected}))
        subscription.put(_encode({
            "type": "snapshot", "agents": sorted(agents.values(), key=lambda a: str(a["agent"])),
            "queues": sorted(self._queue_stats.values(), key=lambda q: str(q["queue"])), "calls": calls,
        }))
        return subscription

    def detach(self, subscription: Subscription) -> None:
        """A WebSocket closed."""
        self._supervisors.discard(subscription)
        for agent, subscriptions in list(self._agents.items()):
            subscriptions.discard(subscription)
            if not subscriptions:
                del self._agents[agent]

    def calls_of(self, agent: str) -> list[str]:
        """Calls offered to or answered by ``agent`` now."""
        return [key[0] for key in self._calls if key[1] == agent]

    def has_call(self, call_id: str) -> bool:
        """True when some agent has ``call_id`` now."""
        return any(key[0] == call_id for key in self._calls)

    # ------------------------------------------------------------------------------ commands

    async def command(self, command: Command, timeout: float = 5.0) -> Reply | None:
        """Send ``command`` to the engine; None when this worker has no channel at all."""
        if self.channel is None:
            return None
        return await self.channel.command(command, timeout)

    def notify_threadsafe(self, command: Command, local: LiveEvent | None = None) -> None:
        """From any thread: send ``command`` to the engine without waiting for the reply. While no
        engine is connected, ``local`` is applied here instead (this worker's browsers see it)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def send() -> None:
            if self.connected:
                task = loop.create_task(self.command(command))
                self._notices.add(task)
                task.add_done_callback(self._notices.discard)
            elif local is not None:
                self.on_event(local)

        loop.call_soon_threadsafe(send)
