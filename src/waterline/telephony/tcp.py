"""Asyncio TCP driver: SIP over streams into the shared :class:`~waterline.telephony.hub.Hub`.

Each connection frames its byte stream into whole SIP messages (``StreamFramer``, by Content-Length)
and feeds them to the hub exactly like datagrams, tagged "tcp". Output for a remote address goes back
over the connection that address came from (RFC 3261 §18.2.2); output to an address with no connection
opens one.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import cast

from waterline.sip.errors import RemoteProtocolError
from waterline.sip.message import StreamFramer
from waterline.telephony.hub import Address, Hub

_log = logging.getLogger(__name__)

MAX_MESSAGE = 64 * 1024
"""Largest SIP message accepted on a stream; more is junk or an attack, and closes the connection."""
MAX_WRITE_BUFFER = 1024 * 1024
"""A peer that stops reading is disconnected before its backlog eats our memory."""
MAX_PENDING = 64
"""Messages queued per address while an outbound connection is being opened."""
MAX_CONNECTIONS = 10_000
"""Open connections at most; more are closed at once so idle sockets cannot exhaust file descriptors."""


class TcpConnection(asyncio.Protocol):
    """One accepted or opened TCP connection."""

    def __init__(self, driver: TcpDriver) -> None:
        self._driver = driver
        self._framer = StreamFramer(max_size=MAX_MESSAGE)
        self._transport: asyncio.Transport | None = None
        self.peer: Address = ("", 0)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.peer = (str(peer[0]), int(peer[1]))
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # SIP messages are small and latency-bound: never let Nagle hold a response back.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._driver.register(self)

    def data_received(self, data: bytes) -> None:
        framer = self._framer
        pings = framer.keepalives
        try:
            messages = framer.feed(data)
        except RemoteProtocolError as exc:
            # The stream can no longer be framed: nothing after this point can be trusted.
            self._driver.framing_errors += 1
            _log.info("closing TCP connection from %s:%s: %s", self.peer[0], self.peer[1], exc)
            self.close()
            return
        if framer.keepalives != pings:
            # RFC 5626 §4.4.1: a double-CRLF ping is answered with a single-CRLF pong.
            self.write(b"\r\n")
        hub = self._driver.hub
        for message in messages:
            hub.receive(message, self.peer, "tcp")

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._driver.unregister(self)

    def write(self, data: bytes) -> None:
        """Queue bytes on the connection, dropping it if the peer stopped reading."""
        transport = self._transport
        if transport is None or transport.is_closing():
            self._driver.send_errors += 1
            return
        transport.write(data)
        if transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            self._driver.send_errors += 1
            transport.abort()

    def close(self) -> None:
        """Close the connection (connection_lost follows)."""
        if self._transport is not None:
            self._transport.close()


class TcpDriver:
    """Listens for SIP over TCP, keeps the address → connection map, sends the endpoint's TCP output."""

    def __init__(
        self,
        hub: Hub,
        on_connection_lost: Callable[[Address], None] | None = None,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.hub = hub
        self.max_connections = max_connections
        self.refused_connections = 0
        self._on_connection_lost = on_connection_lost
        self._connections: dict[Address, TcpConnection] = {}
        self._pending: dict[Address, list[bytes]] = {}
        self._server: asyncio.Server | None = None
        self._connecting: set[asyncio.Task[None]] = set()
        self.framing_errors = 0
        self.send_errors = 0
        hub.attach("tcp", self)

    @property
    def connection_count(self) -> int:
        """Open connections, accepted and opened."""
        return len(self._connections)

    def register(self, connection: TcpConnection) -> None:
        """Called by a connection once it is up; closes it if the limit is reached."""
        if len(self._connections) >= self.max_connections:
            self.refused_connections += 1
            connection.close()
            return
        self._connections[connection.peer] = connection
        for data in self._pending.pop(connection.peer, ()):
            connection.write(data)

    def unregister(self, connection: TcpConnection) -> None:
        """Called by a connection once it is gone."""
        if self._connections.get(connection.peer) is connection:
            del self._connections[connection.peer]
            if self._on_connection_lost is not None:
                self._on_connection_lost(connection.peer)

    def send(self, data: bytes, addr: Address) -> None:
        """Send over the connection to ``addr``, opening one if there is none."""
        connection = self._connections.get(addr)
        if connection is not None:
            connection.write(data)
            return
        pending = self._pending.get(addr)
        if pending is not None:
            if len(pending) < MAX_PENDING:
                pending.append(data)
            else:
                self.send_errors += 1
            return
        self._pending[addr] = [data]
        task = asyncio.get_running_loop().create_task(self._connect(addr))
        self._connecting.add(task)
        task.add_done_callback(self._connecting.discard)

    async def _connect(self, addr: Address) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.create_connection(lambda: TcpConnection(self), addr[0], addr[1]), 5.0)
        except (TimeoutError, OSError) as exc:
            # Dropped messages surface as transaction timeouts in the endpoint, as RFC 3261 expects.
            dropped = self._pending.pop(addr, [])
            self.send_errors += len(dropped)
            _log.info("TCP connect to %s:%s failed: %s", addr[0], addr[1], exc)

    async def listen(self, host: str, port: int) -> None:
        """Start accepting connections on host:port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: TcpConnection(self), host, port, reuse_address=True, backlog=1024
        )

    @property
    def local_address(self) -> Address:
        """The bound (host, port) of the listening socket."""
        assert self._server is not None and self._server.sockets
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def close(self) -> None:
        """Stop listening and close every connection."""
        for task in list(self._connecting):
            task.cancel()
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections.values()):
            connection.close()
        if self._server is not None:
            await self._server.wait_closed()
