"""The one place where the asyncio drivers meet the sans-IO SIP endpoint.

Both transport drivers (UDP and TCP) feed the same endpoint through a :class:`Hub`. After every input
(datagram, stream message or timer) the hub drains the endpoint's events into the call-control handler,
hands the datagrams it wants to send to the driver of their transport, and re-arms a single loop timer
at the endpoint's earliest deadline. This is the aioquic ``asyncio/protocol.py`` pattern, shared so each
driver stays a thin file.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from typing import Protocol

Address = tuple[str, int]

_log = logging.getLogger(__name__)

TIMER_GRAIN = 0.005
"""Seconds: the endpoint's deadlines are served at most this late, several per loop timer."""


class SansIoEndpoint(Protocol):
    """The part of ``waterline.sip.endpoint.Endpoint`` that the drivers use."""

    def receive_datagram(self, data: bytes, addr: Address, now: float, transport: str = "udp") -> None: ...

    def datagrams_to_send(self, now: float) -> list[tuple[bytes, Address, str]]: ...

    def get_timer(self) -> float | None: ...

    def handle_timer(self, now: float) -> None: ...

    def next_event(self) -> object | None: ...


class Sender(Protocol):
    """A transport driver able to put bytes on the wire towards an address."""

    def send(self, data: bytes, addr: Address) -> None: ...


EventHandler = Callable[[object, float], None]


class Hub:
    """Pumps one sans-IO endpoint: input → events → handler → output → timer.

    ``handler(event, now)`` is called for each event the endpoint emits; it may call the endpoint's
    methods (answer, reject, hang up), whose output is sent in the same pass.
    """

    def __init__(
        self, endpoint: SansIoEndpoint, handler: EventHandler, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.endpoint = endpoint
        self._handler = handler
        self._loop = loop
        self._senders: dict[str, Sender] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._deadline: float | None = None
        self._closed = False
        self.errors = 0
        """Inputs whose processing raised (a bug somewhere below); counted, logged, survived."""
        self.unroutable = 0
        """Datagrams the endpoint wanted to send over a transport that is not attached."""

    def attach(self, transport: str, sender: Sender) -> None:
        """Register the driver that sends datagrams for ``transport`` ("udp", "tcp")."""
        self._senders[transport] = sender

    def receive(self, data: bytes, addr: Address, transport: str) -> None:
        """Feed one datagram (or one framed stream message) to the endpoint and act on the result."""
        now = self._loop.time()
        self.feed(data, addr, transport, now)
        self.pump_safely(now)

    def feed(self, data: bytes, addr: Address, transport: str, now: float) -> None:
        """Feed one input without acting on it yet: a driver that read a batch calls :meth:`pump_safely`
        once after the batch, so events, output and the timer are handled once per wake-up."""
        try:
            self.endpoint.receive_datagram(data, addr, now, transport)
        except Exception:
            # A crash here would take every call with it; keep serving and make the bug visible.
            self._failed("endpoint failed on input from %s:%s over %s", addr[0], addr[1], transport)

    def pump_safely(self, now: float) -> None:
        """:meth:`pump`, with a bug below counted and logged instead of raised into the loop."""
        try:
            self.pump(now)
        except Exception:
            self._failed("call control failed")

    def _failed(self, message: str, *args: object) -> None:
        self.errors += 1
        if self.errors <= 10 or self.errors % 1000 == 0:
            _log.exception(message, *args)

    def pump(self, now: float | None = None) -> None:
        """Drain events and outgoing datagrams, then re-arm the timer.

        Call it after acting on the endpoint from outside an input (for example a hang-up decided by a
        timer of the application) so the resulting messages leave at once.
        """
        if now is None:
            now = self._loop.time()
        endpoint = self.endpoint
        handler = self._handler
        event = endpoint.next_event()
        while event is not None:
            handler(event, now)
            event = endpoint.next_event()
        senders = self._senders
        for data, addr, transport in endpoint.datagrams_to_send(now):
            sender = senders.get(transport)
            if sender is None:
                self.unroutable += 1
                continue
            sender.send(data, addr)
        self._arm(endpoint.get_timer())

    def close(self) -> None:
        """Stop the timer; later inputs are still accepted but no timer fires."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._deadline = None

    def _arm(self, deadline: float | None) -> None:
        # Re-arming on every datagram is the hot path: only move the loop timer when the endpoint's
        # deadline is earlier than the one already scheduled. A later or absent deadline leaves the
        # old timer in place; it fires early and harmlessly, then re-arms at the true deadline.
        if deadline is None or self._closed:
            return
        # Deadlines are rounded up to a grain: at thousands of calls/s every call brings its own
        # deadline a fraction of a millisecond after the previous one, and one loop timer per call
        # would cost more than the SIP timers are worth (they are all >= 500 ms, RFC 3261's T1).
        # (max: the float product may land a hair below the deadline itself)
        deadline = max(deadline, math.ceil(deadline / TIMER_GRAIN) * TIMER_GRAIN)
        if self._deadline is not None and self._deadline <= deadline:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._deadline = deadline
        self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        # The loop fired this timer for our deadline, so for the endpoint it is that time at least:
        # uvloop's clock has millisecond resolution and rounds delays, so loop.time() may still read
        # a little earlier, the endpoint would find nothing due and re-arm for "now", and the loop
        # would spin on call_soon until its clock ticked over (measured: 400,000 wake-ups a second).
        armed = self._deadline
        self._timer = None
        self._deadline = None
        now = self._loop.time()
        if armed is not None and armed > now:
            now = armed
        try:
            self.endpoint.handle_timer(now)
            self.pump(now)
        except Exception:
            self.errors += 1
            _log.exception("endpoint failed in its timer")
            # Keep the timer alive even after a bug so retransmissions and timeouts continue.
            self._arm(now + 0.5)
