"""Manual corrections of the working-day calendar: a date declared a workday (调休) or a day off.

The calendar adapter takes its holidays from a maintained package; these rows cover the years (or
surprises) the package does not know yet, and win over it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class HolidayOverride:
    """``day`` is a workday (``is_workday``) or a day off, whatever the package says."""

    day: date
    is_workday: bool
    note: str
    updated_at: datetime
