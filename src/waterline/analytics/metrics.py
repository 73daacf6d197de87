"""Call-centre figures of one day, computed exactly from the queue log (the wallboard's numbers).

Every call that entered a queue ends its time in the ACD one way (``calls.queuelog``): answered by an
agent (``connect``, or ``callback-connected`` for a queue call-back), abandoned (the caller hung up
while waiting), or exited to voicemail, a mobile or a hang-up (``timeout``, ``full``, ``joinempty``,
``leaveempty`` whose ``reason`` is not ``queue:NAME``; an exit to another queue is an overflow and the
call goes on there). Until then it is waiting. Figures, per day and per queue:

- ``offered``: distinct calls that entered (a call overflowing through two queues is offered to each
  queue, and once to the day);
- ``answer_rate = answered / finished`` and ``abandon_rate = abandoned / finished``, where
  ``finished = answered + abandoned + exited`` (calls still waiting are in neither side yet);
- ``service_level = answered within T seconds of waiting / finished`` (T per installation, 20 s by
  default: the "80/20" convention; a short abandon counts against it too);
- ``waiting`` and ``longest_wait`` (seconds since the call entered the queue it waits in).

The rates are None while nothing has finished. Pure: records and ``now`` in, figures out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from waterline.domain.queuelog import QueueLogRecord

__all__ = ["DayFigures", "QueueFigures", "day_figures"]

ANSWER_EVENTS = frozenset({"connect", "callback-connected"})
ABANDON_EVENTS = frozenset({"abandon"})
EXIT_EVENTS = frozenset({"timeout", "full", "joinempty", "leaveempty"})
# events after which the caller still waits in the same queue
WAITING_EVENTS = frozenset({"enter", "ring-no-answer", "ring-refused", "callback-requested"})
DEFAULT_SERVICE_SECONDS = 20.0
# A caller does not wait this long: an entry left without an end was lost with an engine restart.
STALE_AFTER = timedelta(hours=4)


@dataclass(frozen=True)
class QueueFigures:
    """The figures of one queue (or of the whole day when ``queue`` is empty)."""

    queue: str
    offered: int
    answered: int
    answered_in_time: int
    abandoned: int
    exited: int
    waiting: int
    longest_wait: float
    total_answer_wait: float

    @property
    def finished(self) -> int:
        """Calls whose time in the queue is over."""
        return self.answered + self.abandoned + self.exited

    @property
    def answer_rate(self) -> float | None:
        """Answered share of the finished calls; None before any finished."""
        return self.answered / self.finished if self.finished else None

    @property
    def abandon_rate(self) -> float | None:
        """Abandoned share of the finished calls; None before any finished."""
        return self.abandoned / self.finished if self.finished else None

    @property
    def service_level(self) -> float | None:
        """Share of the finished calls answered within the service time; None before any finished."""
        return self.answered_in_time / self.finished if self.finished else None

    @property
    def average_answer_wait(self) -> float | None:
        """Mean seconds waited by the answered calls (ASA); None before any was answered."""
        return self.total_answer_wait / self.answered if self.answered else None


@dataclass(frozen=True)
class DayFigures:
    """The day's total (over distinct calls) and each queue's figures, by queue name."""

    total: QueueFigures
    queues: tuple[QueueFigures, ...]


class _Tally:
    def __init__(self, name: str) -> None:
        self.name = name
        self.offered: set[str] = set()
        self.answered = 0
        self.in_time = 0
        self.abandoned = 0
        self.exited = 0
        self.answer_wait = 0.0
        self.entered_at: dict[str, datetime] = {}

    def figures(self, now: datetime) -> QueueFigures:
        waits = [
            (now - at).total_seconds() for at in self.entered_at.values() if now - at < STALE_AFTER
        ]
        return QueueFigures(
            queue=self.name, offered=len(self.offered), answered=self.answered,
            answered_in_time=self.in_time, abandoned=self.abandoned, exited=self.exited,
            waiting=len(waits), longest_wait=max([0.0, *waits]), total_answer_wait=self.answer_wait,
        )


def day_figures(
    records: Iterable[QueueLogRecord], now: datetime, service_seconds: float = DEFAULT_SERVICE_SECONDS
) -> DayFigures:
    """Figures from one day's queue log ``records`` (oldest first, as the store returns them)."""
    total = _Tally("")
    queues: dict[str, _Tally] = {}
    # per call, the queue it currently waits in (None once its time in the ACD is over)
    where: dict[str, str | None] = {}
    for record in records:
        tally = queues.setdefault(record.queue, _Tally(record.queue))
        call = record.call_id
        event = record.event
        wait = record.wait or 0.0
        if event == "enter":
            tally.offered.add(call)
            total.offered.add(call)
            tally.entered_at[call] = record.at
            where[call] = record.queue
            continue
        ends = (
            event in ANSWER_EVENTS
            or event in ABANDON_EVENTS
            or (event in EXIT_EVENTS and not record.reason.startswith("queue:"))
        )
        if event in EXIT_EVENTS and not ends:
            tally.entered_at.pop(call, None)  # overflow: it waits in the next queue now
            continue
        if not ends or event in WAITING_EVENTS:
            continue
        tally.entered_at.pop(call, None)
        counted_by_day = where.get(call, record.queue) is not None
        where[call] = None
        for target in (tally, total) if counted_by_day else (tally,):
            if event in ANSWER_EVENTS:
                target.answered += 1
                target.answer_wait += wait
                target.in_time += wait <= service_seconds
            elif event in ABANDON_EVENTS:
                target.abandoned += 1
            else:
                target.exited += 1
    for tally in queues.values():
        total.entered_at.update(tally.entered_at)
    return DayFigures(
        total=total.figures(now),
        queues=tuple(queues[name].figures(now) for name in sorted(queues)),
    )
