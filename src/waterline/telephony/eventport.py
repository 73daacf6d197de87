"""The engine's end of the live channel: publish events to every web worker, answer their commands.

A Unix socket server (path from :func:`waterline.adapters.livechannel.socket_path`) speaking the
frames of :mod:`waterline.calls.live`. Each connected web worker gets the ``hello`` frame, then a
snapshot (every agent's last state, every queue's last stats, the calls agents have now), then every
event as it is published.

The engine loop never waits for a subscriber: :meth:`EventPort.publish` encodes the event once and
puts it on each subscriber's bounded queue; a subscriber whose queue is full has fallen behind, loses
that event (``dropped``) and is cut off (``cut_off``): it reconnects and the snapshot brings it up to
date. Commands run their handler on the loop; a handler returns the reply's data (or an awaitable of
it) or raises :class:`CommandRefused`.

For the ACD host: ``port.publish(CallOffered(...))`` when an agent's phone starts ringing, and so on
(see the event types), or ``port.publish_fields({"type": "call.offered", "call_id": ..., "wait": 3.2,
"path": [...], ...})`` from a hook that emits flat mappings (``wait``, ``path`` and ``by`` are
understood as ``waited``, ``ivr_path`` and ``reason``; unknown fields are dropped);
``port.on_command(TransferCall.NAME, handler)`` to carry out a command. The
port answers ``agent.state`` itself by publishing the change, until a handler replaces that (then the
handler's ACD publishes the change it makes).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from waterline.calls.live import (
    MAX_FRAME,
    AgentStateChanged,
    AgentStateNotice,
    CallAnswered,
    CallEnded,
    CallOffered,
    Command,
    CommandFrame,
    Hello,
    LiveEvent,
    QueueStats,
    Reply,
    WireError,
    decode_command,
    decode_frame,
    encode_frame,
    event_from_fields,
)

__all__ = ["CommandHandler", "CommandRefused", "EventPort", "PortStats"]

_log = logging.getLogger(__name__)

QUEUE_LIMIT = 2048
"""Frames waiting for one subscriber at most; beyond that it is cut off."""
COMMAND_TIMEOUT = 10.0
"""Seconds an awaitable handler may take before the command is answered ``timeout``."""
MAX_OPEN_CALLS = 10_000
"""Calls remembered for the snapshot at most (a call whose end was never published is forgotten)."""

CommandResult = Mapping[str, Any] | None
CommandHandler = Callable[[Command], CommandResult | Awaitable[CommandResult]]


class CommandRefused(Exception):  # noqa: N818 (a refusal is an answer, not a failure of ours)
    """A handler refuses a command: ``code`` for programs, the messages for the console."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.code = code
        self.zh = zh
        self.en = en


@dataclass(slots=True)
class PortStats:
    """Counters for the engine's journal."""

    published: int = 0
    dropped: int = 0
    cut_off: int = 0
    connections: int = 0
    commands: int = 0
    protocol_errors: int = 0
    bad_events: int = 0


class _Subscriber:
    def __init__(self, writer: asyncio.StreamWriter, limit: int) -> None:
        self.writer = writer
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(limit)
        self.closed = False

    def put(self, data: bytes) -> bool:
        """Queue ``data``; False (and nothing queued) when the subscriber is closed or full."""
        if self.closed:
            return False
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            return False
        return True

    def cut(self) -> None:
        if not self.closed:
            self.closed = True
            self.writer.transport.abort()

    async def pump(self) -> None:
        while True:
            data = await self.queue.get()
            self.writer.write(data)
            while not self.queue.empty():
                self.writer.write(self.queue.get_nowait())
            await self.writer.drain()


class EventPort:
    """Publishes live events to the connected web workers and dispatches their commands.

    ``clock`` gives epoch seconds (the ``hello`` time); ``engine_id`` names this engine run so a web
    worker can tell a restart from a reconnect. Call every method on the engine's loop.
    """

    def __init__(
        self, path: Path, *, clock: Callable[[], float], engine_id: str, queue_limit: int = QUEUE_LIMIT
    ) -> None:
        self.path = path
        self.engine_id = engine_id
        self.stats = PortStats()
        self._clock = clock
        self._queue_limit = queue_limit
        self._server: asyncio.AbstractServer | None = None
        self._subscribers: set[_Subscriber] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._handlers: dict[str, CommandHandler] = {AgentStateNotice.NAME: self._publish_state_notice}
        self._agents: dict[str, bytes] = {}
        self._queues: dict[str, bytes] = {}
        # (call, agent, event name): the offer (it carries what the card needs) and the answer
        self._calls: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()

    @property
    def subscribers(self) -> int:
        """Web workers connected now."""
        return len(self._subscribers)

    def on_command(self, name: str, handler: CommandHandler) -> None:
        """Carry out command ``name`` (``calls.live.COMMANDS``) with ``handler`` from now on."""
        self._handlers[name] = handler

    async def start(self) -> None:
        """Listen on the socket (a stale file from a crashed run is replaced); only we may connect."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._server = await asyncio.start_unix_server(
            self._serve, path=os.fspath(self.path), limit=MAX_FRAME
        )
        os.chmod(self.path, 0o600)

    async def close(self) -> None:
        """Stop listening and drop every subscriber."""
        if self._server is not None:
            self._server.close()
        for subscriber in list(self._subscribers):
            subscriber.cut()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=1.0)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def publish(self, event: LiveEvent) -> None:
        """Send ``event`` to every subscriber without waiting; remember it for the snapshot."""
        data = encode_frame(event)
        self.stats.published += 1
        self._remember(event, data)
        for subscriber in list(self._subscribers):
            if not subscriber.put(data):
                self._cut_off(subscriber)

    def publish_fields(self, fields: Mapping[str, object]) -> None:
        """Publish the event ``{"type": name, **fields}`` (see ``calls.live.event_from_fields``); one
        that does not make a valid event is logged and counted in ``stats.bad_events``, never raised."""
        try:
            event = event_from_fields(fields)
        except WireError as exc:
            self.stats.bad_events += 1
            if self.stats.bad_events <= 3:
                _log.warning("live event not published: %s", exc)
            return
        self.publish(event)

    def _remember(self, event: LiveEvent, data: bytes) -> None:
        if isinstance(event, AgentStateChanged):
            self._agents[event.agent] = data
        elif isinstance(event, QueueStats):
            self._queues[event.queue] = data
        elif isinstance(event, CallOffered | CallAnswered):
            key = (event.call_id, event.agent, event.NAME)
            self._calls[key] = data
            self._calls.move_to_end(key)
            while len(self._calls) > MAX_OPEN_CALLS:
                self._calls.popitem(last=False)
        elif isinstance(event, CallEnded):
            ended = [k for k in self._calls if k[0] == event.call_id and event.agent in ("", k[1])]
            for key in ended:
                del self._calls[key]

    def _cut_off(self, subscriber: _Subscriber) -> None:
        if subscriber.closed:
            return
        self.stats.dropped += 1
        self.stats.cut_off += 1
        _log.warning("live subscriber fell %d frames behind: cut off (it resyncs on reconnect)",
                     self._queue_limit)
        subscriber.cut()

    def _publish_state_notice(self, command: Command) -> CommandResult:
        assert isinstance(command, AgentStateNotice)
        self.publish(
            AgentStateChanged(command.agent, command.state, command.at, command.previous, command.reason)
        )
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        subscriber = _Subscriber(writer, self._queue_limit)
        self.stats.connections += 1
        subscriber.put(encode_frame(Hello(self.engine_id, self._clock())))
        for data in [*self._agents.values(), *self._queues.values(), *self._calls.values()]:
            subscriber.put(data)
        self._subscribers.add(subscriber)
        pump = asyncio.create_task(subscriber.pump())
        self._tasks.add(pump)
        try:
            while not subscriber.closed:
                try:
                    line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError, ConnectionError):
                    self.stats.protocol_errors += 1
                    break
                if not line:
                    break
                try:
                    frame = decode_frame(line)
                except WireError as exc:
                    self.stats.protocol_errors += 1
                    _log.warning("live subscriber sent a bad frame (%s): disconnected", exc)
                    break
                if isinstance(frame, CommandFrame):
                    task = asyncio.create_task(self._answer(subscriber, frame))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
        except asyncio.CancelledError:
            pass
        finally:
            self._subscribers.discard(subscriber)
            pump.cancel()
            self._tasks.discard(pump)
            subscriber.cut()

    async def _answer(self, subscriber: _Subscriber, frame: CommandFrame) -> None:
        self.stats.commands += 1
        reply = await self.dispatch(frame)
        try:
            data = encode_frame(reply)
        except WireError:
            data = encode_frame(Reply.failure(frame.id, "failed", "回复过长", "reply too long"))
        if not subscriber.put(data):
            self._cut_off(subscriber)

    async def dispatch(self, frame: CommandFrame) -> Reply:
        """Run the handler of ``frame``'s command and build its reply (never raises)."""
        try:
            command = decode_command(frame)
        except WireError as exc:
            return Reply.failure(frame.id, "bad_command", f"命令格式错误：{exc}", f"bad command: {exc}")
        handler = self._handlers.get(frame.name)
        if handler is None:
            return Reply.failure(frame.id, "not_supported", f"电话引擎尚不支持此操作（{frame.name}）",
                                 f"the telephony engine does not support {frame.name} yet")
        try:
            result = handler(command)
            if inspect.isawaitable(result):
                result = await asyncio.wait_for(result, COMMAND_TIMEOUT)
        except CommandRefused as refused:
            return Reply.failure(frame.id, refused.code, refused.zh, refused.en)
        except TimeoutError:
            return Reply.failure(frame.id, "timeout", "电话引擎处理超时", "the telephony engine timed out")
        except Exception:
            _log.exception("live command %s failed", frame.name)
            return Reply.failure(frame.id, "failed", "电话引擎处理失败", "the telephony engine failed")
        return Reply.success(frame.id, result)
