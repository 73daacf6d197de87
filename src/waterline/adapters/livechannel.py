"""The web worker's end of the live channel: the engine's Unix socket, with reconnection.

Each web worker process runs one :class:`LiveClient`: it connects to the engine's
``telephony.eventport`` socket, hands every event to ``on_event`` (on the worker's loop), sends
commands and waits for their replies. When the engine is not running yet or restarts, the client
retries with a backoff (``retry_min`` doubling up to ``retry_max`` seconds); commands sent meanwhile
are answered ``unavailable`` at once rather than queued (a hang-up minutes later would be wrong).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from waterline.calls.live import (
    MAX_FRAME,
    Command,
    EventFrame,
    Hello,
    LiveEvent,
    Reply,
    WireError,
    decode_event,
    decode_frame,
    encode_frame,
)

__all__ = ["LiveClient", "socket_path", "unavailable"]

_log = logging.getLogger(__name__)

SOCKET_NAME = "events.sock"
# sun_path holds 108 bytes on Linux (104 on the BSDs), terminating NUL included
MAX_SOCKET_PATH = 100


def socket_path(data_dir: Path) -> Path:
    """Where the engine of ``data_dir`` listens: ``<data_dir>/events.sock``, or a name in the temp dir
    derived from the data dir when that path is too long for a Unix socket."""
    path = data_dir.resolve() / SOCKET_NAME
    if len(os.fsencode(path)) <= MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(os.fsencode(data_dir.resolve())).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"waterline-{digest}.sock"


def unavailable(command_id: int = 0) -> Reply:
    """The reply to a command when no engine is connected."""
    return Reply.failure(command_id, "unavailable", "电话引擎未连接，请稍后再试",
                         "the telephony engine is not connected; try again shortly")


class LiveClient:
    """Connects to the engine at ``path`` and keeps connecting until :meth:`run` is cancelled.

    ``on_event`` gets every event (exceptions are logged, never fatal); ``on_hello`` the engine's
    greeting at every (re)connection, before the snapshot's events; ``on_lost`` is called when a
    greeted connection ends.
    """

    def __init__(
        self,
        path: Path,
        on_event: Callable[[LiveEvent], None],
        *,
        on_hello: Callable[[Hello], None] | None = None,
        on_lost: Callable[[], None] | None = None,
        retry_min: float = 0.1,
        retry_max: float = 2.0,
    ) -> None:
        self.path = path
        self.on_event = on_event
        self.on_hello = on_hello
        self.on_lost = on_lost
        self.retry_min = retry_min
        self.retry_max = retry_max
        self.engine: str | None = None
        self.connections = 0
        self.bad_frames = 0
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[int, asyncio.Future[Reply]] = {}
        self._next_id = 1
        self._connected = asyncio.Event()

    @property
    def connected(self) -> bool:
        """True while a connection to the engine is open."""
        return self._writer is not None

    async def wait_connected(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a connection; True when connected."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout)
        return self.connected

    async def run(self) -> None:
        """Connect, read, reconnect — until cancelled."""
        delay = self.retry_min
        while True:
            try:
                reader, writer = await asyncio.open_unix_connection(os.fspath(self.path), limit=MAX_FRAME)
            except OSError:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max)
                continue
            delay = self.retry_min
            self.connections += 1
            try:
                await self._read(reader, writer)
            finally:
                self._lost(writer)

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        greeted = False
        while True:
            try:
                line = await reader.readline()
            except (ValueError, asyncio.LimitOverrunError, ConnectionError):
                return
            if not line:
                return
            try:
                frame = decode_frame(line)
                if isinstance(frame, Hello):
                    self.engine = frame.engine
                    greeted = True
                    # commands go out only once the engine greeted us (it is really there)
                    self._writer = writer
                    self._connected.set()
                    if self.on_hello is not None:
                        self.on_hello(frame)
                elif isinstance(frame, EventFrame) and greeted:
                    self._deliver(decode_event(frame))
                elif isinstance(frame, Reply):
                    future = self._pending.pop(frame.id, None)
                    if future is not None and not future.done():
                        future.set_result(frame)
            except WireError as exc:
                # a newer engine may send events this worker does not know: skip them, keep the line
                self.bad_frames += 1
                if self.bad_frames <= 3:
                    _log.warning("live channel: skipped a frame (%s)", exc)

    def _deliver(self, event: LiveEvent) -> None:
        try:
            self.on_event(event)
        except Exception:
            _log.exception("live event handler failed on %s", type(event).__name__)

    def _lost(self, writer: asyncio.StreamWriter) -> None:
        greeted = self._writer is not None
        self._writer = None
        self._connected.clear()
        writer.close()
        pending, self._pending = self._pending, {}
        for command_id, future in pending.items():
            if not future.done():
                future.set_result(unavailable(command_id))
        if greeted and self.on_lost is not None:
            try:
                self.on_lost()
            except Exception:
                _log.exception("live channel: on_lost failed")

    async def command(self, command: Command, timeout: float = 5.0) -> Reply:
        """Send ``command`` and wait for the engine's reply; ``unavailable`` when not connected or the
        connection is lost, ``timeout`` when the engine does not answer in ``timeout`` seconds."""
        writer = self._writer
        if writer is None:
            return unavailable()
        command_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = future
        try:
            writer.write(encode_frame(command, command_id))
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return Reply.failure(command_id, "timeout", "电话引擎无响应",
                                 "the telephony engine did not answer")
        finally:
            self._pending.pop(command_id, None)
