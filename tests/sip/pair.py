"""Test helpers: endpoints wired together in memory, with a fake clock and a lossy wire."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from waterline.sip.endpoint import Endpoint, EndpointConfig
from waterline.sip.events import Event
from waterline.sip.message import Request, Response, parse_message
from waterline.sip.transaction import TimerConfig

OFFER = (
    b"v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    b"a=sendrecv\r\n"
)
ANSWER = (
    b"v=0\r\no=callee 2 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 41000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
)
HOLD = OFFER.replace(b"a=sendrecv", b"a=sendonly").replace(b"o=caller 1 1", b"o=caller 1 2")


def make_endpoint(port: int, seed: int, **config: object) -> Endpoint:
    """An endpoint on 127.0.0.1:``port`` with a seeded RNG."""
    cfg = EndpointConfig(host="127.0.0.1", port=port, timers=TimerConfig(), **config)  # type: ignore[arg-type]
    return Endpoint(cfg, rng=random.Random(seed))


@dataclass
class Packet:
    """One message that crossed the wire."""

    src: int
    dest: int
    data: bytes

    @property
    def message(self) -> Request | Response:
        """The parsed message."""
        return parse_message(self.data)

    @property
    def first_line(self) -> str:
        """The start line, e.g. ``SIP/2.0 200 OK`` or ``INVITE sip:... SIP/2.0``."""
        return self.data.split(b"\r\n", 1)[0].decode()


@dataclass
class Wire:
    """Delivers each endpoint's output to the endpoint listening on the destination port."""

    endpoints: dict[int, Endpoint]
    now: float = 0.0
    log: list[Packet] = field(default_factory=list)
    drop: Callable[[Packet], bool] = lambda packet: False
    received: dict[int, list[Event]] = field(default_factory=dict)

    @classmethod
    def pair(cls, **config: object) -> tuple[Wire, Endpoint, Endpoint]:
        """Caller A on port 5060 and callee B on 5070."""
        a = make_endpoint(5060, 1, **config)
        b = make_endpoint(5070, 2, **config)
        return cls({5060: a, 5070: b}), a, b

    def flush(self) -> None:
        """Deliver queued messages until everything is quiet (bounded)."""
        for _ in range(100):
            moved = False
            for port, endpoint in self.endpoints.items():
                for data, addr, transport in endpoint.datagrams_to_send(self.now):
                    moved = True
                    packet = Packet(port, addr[1], data)
                    self.log.append(packet)
                    target = self.endpoints.get(addr[1])
                    if target is None or self.drop(packet):
                        continue
                    target.receive_datagram(data, ("127.0.0.1", port), self.now, transport)
            self._collect()
            if not moved:
                return
        raise AssertionError("messages kept flowing for 100 rounds")

    def _collect(self) -> None:
        for port, endpoint in self.endpoints.items():
            while (event := endpoint.next_event()) is not None:
                self.received.setdefault(port, []).append(event)

    def run_until(self, until: float) -> None:
        """Advance the fake clock to ``until``, firing timers in order and delivering their output."""
        for _ in range(100_000):
            deadlines = [d for e in self.endpoints.values() if (d := e.get_timer()) is not None]
            if not deadlines or min(deadlines) > until:
                break
            self.now = max(self.now, min(deadlines))
            for endpoint in self.endpoints.values():
                endpoint.handle_timer(self.now)
            self.flush()
        self.now = max(self.now, until)
        self.flush()

    def events(self, port: int) -> list[Event]:
        """Take the events endpoint ``port`` emitted so far."""
        self._collect()
        return self.received.pop(port, [])

    def lines(self, src: int | None = None) -> list[str]:
        """Start lines of every packet logged (from ``src`` only, if given)."""
        return [p.first_line for p in self.log if src is None or p.src == src]
