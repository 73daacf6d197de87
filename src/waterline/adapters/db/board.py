"""The order change feed of the dispatch board (``services.board.OrderChangeFeed``) on the order
transitions table: its autoincrement ids are the feed positions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from waterline.adapters.db.orm import order_transitions_table
from waterline.services.board import OrderChangeFeed

__all__ = ["LOOK_BACK", "SqlOrderChangeFeed"]

# How far below the cursor late commits are looked for, in transitions: the time condition is only
# evaluated on this many rows before the cursor, so a poll reads an id range, never the whole table.
LOOK_BACK = 1000


class SqlOrderChangeFeed:
    """Reads the order transitions with the given session (one short read per call)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def cursor(self) -> int:
        """The newest transition id (0 when there is none)."""
        newest = self.session.execute(select(func.max(order_transitions_table.c.id))).scalar()
        self.session.rollback()
        return int(newest or 0)

    def changed_since(self, cursor: int, recent_since: datetime, limit: int) -> list[int]:
        """Orders with a transition after ``cursor``, or near it and recorded at/after ``recent_since``."""
        t = order_transitions_table.c
        query = (
            select(t.order_id)
            .where(t.id > cursor - LOOK_BACK, or_(t.id > cursor, and_(t.at >= recent_since)))
            .group_by(t.order_id)
            .order_by(func.max(t.id).desc())
            .limit(limit)
        )
        found = [int(order_id) for order_id in self.session.execute(query).scalars()]
        self.session.rollback()  # end the read transaction: the connection goes back to the pool
        return found


def _conforms(feed: SqlOrderChangeFeed) -> OrderChangeFeed:
    # mypy checks here that the adapter implements the port
    return feed
