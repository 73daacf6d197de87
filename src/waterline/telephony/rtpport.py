"""The pool of local RTP ports: even ports from a configurable range, RTCP on the odd port above.

The pool only does the bookkeeping (which pairs are lent out); binding the sockets is the media
session's job. A port handed out is not handed out again until it is released, and released ports
go to the back of the queue, so a port just freed (whose late packets may still be in flight from
the previous call) is reused as late as possible. When every pair is lent out :meth:`allocate`
returns None and the switch answers 503.
"""

from __future__ import annotations

import random
from collections import deque

__all__ = ["DEFAULT_RANGE", "PortPool"]

DEFAULT_RANGE = (20000, 30000)
"""Lowest and highest port (inclusive) used for RTP and RTCP unless configured otherwise."""


class PortPool:
    """Even RTP ports of ``[low, high]`` whose RTCP port (RTP + 1) is also in the range."""

    def __init__(self, low: int = DEFAULT_RANGE[0], high: int = DEFAULT_RANGE[1], *,
                 rng: random.Random | None = None) -> None:
        """Ports ``low``..``high`` inclusive; raises ``ValueError`` when no RTP/RTCP pair fits.

        With ``rng`` the pool starts at a random pair of the range rather than the lowest: two engines
        on one host with the same range (a benchmark next to a test server) then do not walk the same
        ports in the same order and fight over every one of them.
        """
        if not 0 < low <= high <= 65535:
            raise ValueError(f"bad RTP port range {low}-{high}")
        first = low + (low & 1)  # RFC 3550 §11: RTP on an even port, RTCP on the next odd one
        ports = range(first, high, 2)  # the RTCP port first + 1 must not pass high
        if not ports:
            raise ValueError(f"RTP port range {low}-{high} holds no even/odd pair")
        self.low = low
        self.high = high
        self._free: deque[int] = deque(ports)
        if rng is not None:
            self._free.rotate(-rng.randrange(len(ports)))
        self._lent: set[int] = set()
        self.capacity = len(ports)
        self.exhausted = 0
        """How many times :meth:`allocate` found no free pair."""

    def __len__(self) -> int:
        """Pairs free right now."""
        return len(self._free)

    @property
    def in_use(self) -> int:
        """Pairs lent out right now."""
        return len(self._lent)

    def allocate(self) -> int | None:
        """An even RTP port whose pair is now lent out, or None when the pool is exhausted."""
        if not self._free:
            self.exhausted += 1
            return None
        port = self._free.popleft()
        self._lent.add(port)
        return port

    def release(self, port: int) -> None:
        """Give a pair back (idempotent: releasing a port that is not lent out does nothing)."""
        if port in self._lent:
            self._lent.remove(port)
            self._free.append(port)

    def skip(self, count: int) -> None:
        """Move the next ``count`` free pairs to the back of the queue.

        After a failed bind the neighbours of the port are likely held by the same other program
        (engines hand out ports in order): jumping ahead finds a free stretch in a few attempts.
        """
        if self._free and count > 0:
            self._free.rotate(-(count % len(self._free)))
