"""A small sans-IO endpoint for driver tests: echoes input, raises on demand, keeps a timer."""

from __future__ import annotations

from dataclasses import dataclass, field

Address = tuple[str, int]


@dataclass
class Received:
    """Event emitted for every input."""

    data: bytes
    addr: Address
    transport: str


@dataclass
class EchoEndpoint:
    """Echoes every input back as ``b"echo:" + data`` over the same transport.

    ``b"boom"`` raises (a bug below the driver), ``b"later"`` arms a timer 10 ms ahead whose
    expiry sends ``b"tick"`` to the sender.
    """

    events: list[Received] = field(default_factory=list)
    outbox: list[tuple[bytes, Address, str]] = field(default_factory=list)
    deadline: float | None = None
    timer_target: tuple[Address, str] | None = None
    timer_calls: int = 0

    def receive_datagram(self, data: bytes, addr: Address, now: float, transport: str = "udp") -> None:
        if data == b"boom":
            raise RuntimeError("endpoint bug")
        self.events.append(Received(data, addr, transport))
        self.outbox.append((b"echo:" + data, addr, transport))
        if data == b"later":
            self.deadline = now + 0.01
            self.timer_target = (addr, transport)

    def datagrams_to_send(self, now: float) -> list[tuple[bytes, Address, str]]:
        out, self.outbox = self.outbox, []
        return out

    def get_timer(self) -> float | None:
        return self.deadline

    def handle_timer(self, now: float) -> None:
        self.timer_calls += 1
        if self.deadline is not None and now >= self.deadline and self.timer_target is not None:
            addr, transport = self.timer_target
            self.outbox.append((b"tick", addr, transport))
            self.deadline = None

    def next_event(self) -> object | None:
        return self.events.pop(0) if self.events else None
