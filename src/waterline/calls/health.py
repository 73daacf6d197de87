"""Station health for ACD failover, sans-IO: degraded after consecutive failed agent legs.

When a station's phones keep failing (the SIP or media side of the station is down: INVITEs time
out, phones answer 5xx, no media port), ringing its agents only makes callers wait. The driver tells
:class:`StationHealth` about every agent leg that failed or answered; after ``threshold`` failures in
a row the station is *degraded*, and new callers of its queues go straight to the station's on-duty
mobile. It is restored by the next answered leg (a call already waiting still rings agents), or
after ``restore_after`` seconds so a healed station gets its calls back without anyone noticing.

A refusal by a person (486 busy, 603 decline) or a ring without answer is not a failure: the phone
works. Time is an argument (``now``), as everywhere in ``calls``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_RESTORE_AFTER", "DEFAULT_THRESHOLD", "StationHealth", "is_failure"]

DEFAULT_THRESHOLD = 3
"""Consecutive failed legs that make a station degraded."""
DEFAULT_RESTORE_AFTER = 60.0
"""Seconds after which a degraded station is tried again without a success."""

_HUMAN_REFUSALS = frozenset({486, 600, 603})


def is_failure(status: int) -> bool:
    """Whether a leg's final status says the station's phone side is failing (not a person's no)."""
    return status not in _HUMAN_REFUSALS and (status >= 400 or status == 0)


@dataclass(slots=True)
class _Station:
    failures: int = 0
    degraded_at: float | None = None


class StationHealth:
    """Consecutive-failure counters per station (any hashable key, e.g. the station id)."""

    def __init__(self, *, threshold: int = DEFAULT_THRESHOLD,
                 restore_after: float = DEFAULT_RESTORE_AFTER) -> None:
        if threshold < 1:
            raise ValueError("threshold must be >= 1")
        if restore_after <= 0:
            raise ValueError("restore_after must be > 0")
        self.threshold = threshold
        self.restore_after = restore_after
        self._stations: dict[object, _Station] = {}

    def failure(self, station: object, now: float) -> bool:
        """A leg of ``station`` failed; True when this failure made it degraded."""
        found = self._stations.setdefault(station, _Station())
        self._expire(found, now)
        found.failures += 1
        if found.degraded_at is None and found.failures >= self.threshold:
            found.degraded_at = now
            return True
        return False

    def success(self, station: object, now: float) -> bool:
        """A leg of ``station`` answered; True when this restored a degraded station."""
        found = self._stations.get(station)
        if found is None:
            return False
        was = found.degraded_at is not None
        found.failures = 0
        found.degraded_at = None
        return was

    def degraded(self, station: object, now: float) -> bool:
        """Whether ``station`` is degraded at ``now``."""
        found = self._stations.get(station)
        if found is None:
            return False
        self._expire(found, now)
        return found.degraded_at is not None

    def degraded_stations(self, now: float) -> list[object]:
        """Every station degraded at ``now`` (for the supervisor and the journal)."""
        out: list[object] = []
        for key, found in self._stations.items():
            self._expire(found, now)
            if found.degraded_at is not None:
                out.append(key)
        return out

    def _expire(self, found: _Station, now: float) -> None:
        if found.degraded_at is not None and now - found.degraded_at >= self.restore_after:
            # tried again: one more failure degrades it at once, a success clears it
            found.degraded_at = None
            found.failures = self.threshold - 1
