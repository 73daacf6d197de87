"""The part of a unit of work every store shares: context management and event bookkeeping.

Store adapters subclass ``EventRecordingUnitOfWork`` and implement ``_commit``, ``_rollback``,
``flush`` and ``next_order_sequence`` plus the repository attributes of ``ports.UnitOfWork``.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from waterline.domain.events import Event


class EventRecordingUnitOfWork:
    """Rolls back unless committed; keeps events until commit, drops them on rollback."""

    def __init__(self) -> None:
        self._pending: list[Event] = []
        self._committed: list[Event] = []

    def __enter__(self) -> Self:
        self._pending = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Rolling back after a commit is a no-op, so leaving the block is always safe; leaving it
        # without committing (an exception, a forgotten commit) never writes half a change.
        self.rollback()

    def record(self, event: Event) -> None:
        """Remember an event to publish after commit."""
        self._pending.append(event)

    def commit(self) -> None:
        """Commit the store transaction, then release the recorded events for publishing."""
        self._commit()
        self._committed.extend(self._pending)
        self._pending = []

    def rollback(self) -> None:
        """Roll the store transaction back and forget uncommitted events."""
        self._rollback()
        self._pending = []

    def collect_new_events(self) -> list[Event]:
        """Events of committed work not yet collected."""
        events, self._committed = self._committed, []
        return events

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError
