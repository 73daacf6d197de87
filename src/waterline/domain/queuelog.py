"""A stored line of the queue log: the raw material of queue reports (service level, abandon rate).

The ACD engine produces its entries (``calls.queuelog.QueueLogEntry``, epoch seconds); the service
layer turns them into these records (aware UTC time) for the store, since ``domain`` imports nothing
outside itself. ``event`` keeps the engine's value (``enter``, ``connect``, ``abandon``, ``timeout``...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["QueueLogRecord"]


@dataclass(frozen=True, slots=True)
class QueueLogRecord:
    """One event of one call in one queue."""

    at: datetime
    queue: str
    call_id: str
    event: str
    agent: str = ""
    position: int | None = None
    wait: float | None = None
    """Seconds: waited in the queue, rung (ring-no-answer) or talked (complete-*), per event."""
    reason: str = ""
    """Where an exiting caller went (``voicemail``, ``queue:NAME``...), a SIP status, a transfer target."""
    detail: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
