"""Asyncio UDP driver: datagrams in and out of the shared :class:`~waterline.telephony.hub.Hub`."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import cast

from waterline.telephony.hub import Address, Hub

_log = logging.getLogger(__name__)

DEFAULT_RCVBUF = 8 * 1024 * 1024
"""Stock asyncio drops UDP bursts at a few thousand calls/s with the default ~200 KB buffer."""


class UdpDriver(asyncio.DatagramProtocol):
    """Receives datagrams into the hub and sends the endpoint's UDP output."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._transport: asyncio.DatagramTransport | None = None
        self.send_errors = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not every loop's UDP transport subclasses DatagramTransport (neither asyncio's nor uvloop's).
        self._transport = cast(asyncio.DatagramTransport, transport)
        self._hub.attach("udp", self)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        # asyncio types addr as Any-ish; on an AF_INET socket it is always (host, port): pass it as is,
        # this is the per-datagram hot path.
        self._hub.receive(data, addr, "udp")

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable for a peer that went away: the transaction timers deal with it.
        self.send_errors += 1

    def send(self, data: bytes, addr: Address) -> None:
        """Send one datagram; silently counted as an error once the socket is closed."""
        transport = self._transport
        if transport is None or transport.is_closing():
            self.send_errors += 1
            return
        transport.sendto(data, addr)

    @property
    def local_address(self) -> Address:
        """The bound (host, port), useful when the driver was opened on port 0."""
        assert self._transport is not None
        host, port = self._transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    def close(self) -> None:
        """Close the socket."""
        if self._transport is not None:
            self._transport.close()


def make_udp_socket(host: str, port: int, rcvbuf: int = DEFAULT_RCVBUF) -> socket.socket:
    """Create a bound, non-blocking UDP socket with a receive buffer of (at least trying) ``rcvbuf`` bytes."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        set_receive_buffer(sock, rcvbuf)
        sock.bind((host, port))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def set_receive_buffer(sock: socket.socket, size: int) -> int:
    """Raise SO_RCVBUF to ``size``; returns what the kernel granted.

    An unprivileged SO_RCVBUF is capped at net.core.rmem_max; when running as root SO_RCVBUFFORCE
    goes past the cap, which is what a service started by init would get.
    """
    force = getattr(socket, "SO_RCVBUFFORCE", None)
    if force is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, size)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    else:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    granted = int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
    # Linux reports double the requested value (bookkeeping overhead); anything well short is a cap.
    if granted < size:
        _log.warning("UDP receive buffer is %d bytes, asked for %d (raise net.core.rmem_max)", granted, size)
    return granted


async def open_udp(hub: Hub, sock: socket.socket) -> UdpDriver:
    """Serve the bound UDP socket ``sock`` (see :func:`make_udp_socket`) and attach it to ``hub``."""
    loop = asyncio.get_running_loop()
    _, driver = await loop.create_datagram_endpoint(lambda: UdpDriver(hub), sock=sock)
    return driver
