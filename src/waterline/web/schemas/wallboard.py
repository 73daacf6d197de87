"""The supervisor wallboard: the day's call and queue figures and the agents' states."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from waterline.analytics.metrics import QueueFigures
from waterline.domain.agents import AgentState
from waterline.web.schemas.agent import AgentOut


class QueueFiguresOut(BaseModel):
    """One queue's figures today (``queue`` empty for the day's total); rates are 0..1 or null."""

    queue: str
    offered: int
    answered: int
    answered_in_time: int
    abandoned: int
    exited: int
    waiting: int
    longest_wait: float
    answer_rate: float | None
    abandon_rate: float | None
    service_level: float | None
    average_answer_wait: float | None

    @classmethod
    def of(cls, figures: QueueFigures) -> QueueFiguresOut:
        """The API view of ``figures``."""
        return cls(
            queue=figures.queue, offered=figures.offered, answered=figures.answered,
            answered_in_time=figures.answered_in_time, abandoned=figures.abandoned,
            exited=figures.exited, waiting=figures.waiting, longest_wait=figures.longest_wait,
            answer_rate=figures.answer_rate, abandon_rate=figures.abandon_rate,
            service_level=figures.service_level, average_answer_wait=figures.average_answer_wait,
        )


class WallboardOut(BaseModel):
    """``GET /api/wallboard``: ``calls`` counts today's call records by outcome (``open`` = still up),
    ``total`` and ``queues`` come from the queue log (see ``analytics.metrics`` for the formulas),
    ``agents`` are the agents' current states, ``agent_states`` how many are in each."""

    day: date
    at: datetime
    service_seconds: float
    calls_today: int
    calls: dict[str, int]
    total: QueueFiguresOut
    queues: list[QueueFiguresOut]
    agents: list[AgentOut]
    agent_states: dict[AgentState, int]
