"""Asyncio UDP driver: datagrams in and out of the shared :class:`~waterline.telephony.hub.Hub`.

The socket is served with ``loop.add_reader`` rather than a datagram transport: each wake-up reads up to
:data:`MAX_BATCH` datagrams and pumps the hub once for all of them, and sends go straight to the
socket. Stock asyncio's transport reads one datagram per loop iteration (an ``epoll_wait`` and a pass of
the loop's Python code each), and its ``sendto`` wraps the socket call in several checks; at thousands
of calls per second both are a large share of the work. Both loops (asyncio, uvloop) take the same path.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import deque

from waterline.telephony.hub import Address, Hub

_log = logging.getLogger(__name__)

DEFAULT_RCVBUF = 8 * 1024 * 1024
"""Stock asyncio drops UDP bursts at a few thousand calls/s with the default ~200 KB buffer."""
MAX_BATCH = 64
"""Datagrams read per wake-up at most, so a flood cannot starve timers and the other sockets."""
RECV_SIZE = 65535
MAX_BACKLOG = 4096
"""Datagrams kept while the socket's send buffer is full; beyond that they are dropped (and counted):
SIP over UDP retransmits, and an unbounded queue would only hide an overload."""


class UdpDriver:
    """Reads datagrams into the hub in batches and sends the endpoint's UDP output."""

    def __init__(self, hub: Hub, sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        self._hub = hub
        self._sock = sock
        self._loop = loop
        self._fd = sock.fileno()
        self._backlog: deque[tuple[bytes, Address]] = deque()
        self._closed = False
        self.send_errors = 0
        """Datagrams that could not be sent (socket closed, backlog full, or the kernel refused)."""
        self.receive_errors = 0
        """Errors reported by the socket on receive (ICMP port unreachable for a peer that went away:
        the transaction timers deal with it)."""
        self.batches = 0
        self.received = 0

    def start(self) -> None:
        """Start reading on the loop and attach to the hub as the "udp" sender."""
        self._hub.attach("udp", self)
        self._loop.add_reader(self._fd, self._read_ready)

    def _read_ready(self) -> None:
        recvfrom = self._sock.recvfrom
        hub = self._hub
        now = self._loop.time()
        count = 0
        for _ in range(MAX_BATCH):
            try:
                data, addr = recvfrom(RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.receive_errors += 1
                continue
            count += 1
            hub.feed(data, addr, "udp", now)
        if count:
            self.batches += 1
            self.received += count
            hub.pump_safely(now)

    def send(self, data: bytes, addr: Address) -> None:
        """Send one datagram; queued while the send buffer is full, counted as an error once closed."""
        if self._closed:
            self.send_errors += 1
            return
        if self._backlog:
            self._queue(data, addr)
            return
        try:
            self._sock.sendto(data, addr)
        except (BlockingIOError, InterruptedError):
            self._queue(data, addr)
            self._loop.add_writer(self._fd, self._write_ready)
        except OSError:
            self.send_errors += 1

    def _queue(self, data: bytes, addr: Address) -> None:
        if len(self._backlog) >= MAX_BACKLOG:
            self.send_errors += 1
            return
        self._backlog.append((data, addr))

    def _write_ready(self) -> None:
        backlog = self._backlog
        while backlog:
            data, addr = backlog[0]
            try:
                self._sock.sendto(data, addr)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.send_errors += 1
            backlog.popleft()
        self._loop.remove_writer(self._fd)

    @property
    def local_address(self) -> Address:
        """The bound (host, port), useful when the driver was opened on port 0."""
        host, port = self._sock.getsockname()[:2]
        return str(host), int(port)

    def close(self) -> None:
        """Stop reading and close the socket (datagrams still queued are dropped)."""
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._fd)
        if self._backlog:
            self._loop.remove_writer(self._fd)
            self.send_errors += len(self._backlog)
            self._backlog.clear()
        self._sock.close()


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
    """Serve the bound, non-blocking UDP socket ``sock`` (see :func:`make_udp_socket`) and attach it to
    ``hub``; the driver owns the socket from now on."""
    driver = UdpDriver(hub, sock, asyncio.get_running_loop())
    driver.start()
    return driver
