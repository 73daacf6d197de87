"""Counts over the call detail records, done by the database (a day can hold thousands of calls)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from waterline.adapters.db.calls import calls_table

__all__ = ["OPEN", "calls_by_outcome"]

OPEN = "open"
"""The key of calls still up (or lost with the engine) in :func:`calls_by_outcome`."""


def calls_by_outcome(session: Session, since: datetime, until: datetime) -> dict[str, int]:
    """Calls started in ``[since, until)`` counted by outcome (``OPEN`` for those without one)."""
    c = calls_table.c
    query = (
        select(c.outcome, func.count())
        .where(c.started_at >= since, c.started_at < until)
        .group_by(c.outcome)
    )
    counts = {str(outcome or OPEN): int(n) for outcome, n in session.execute(query).all()}
    session.rollback()  # a short read: give the connection back
    return counts
