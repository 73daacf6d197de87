"""Queue configuration for the ACD (:mod:`waterline.calls.acd`), as frozen values.

These are the pure types the agents part persists (queues, members, agent states) and the ACD
engine runs on. Nothing here does I/O or reads the clock.

How a queue behaves, in short:

- a caller enters; if the queue is full (``max_length``) or empty and ``join_when_empty`` is off,
  the caller leaves at once by the overflow chain with reason ``FULL``/``JOINEMPTY``;
- while waiting the caller hears music on hold, the position and estimated wait every
  ``announce_every`` seconds, a comfort prompt every ``comfort_every`` seconds, and after
  ``callback_after`` seconds the offer to press 1 for a call back;
- members are rung by ``strategy``; a member of tier *n* is eligible once the call has waited
  ``Tier.after_seconds`` (the station's own agents are tier 0, the neighbouring station tier 1
  after N s); among eligible free agents the lowest tier is tried first;
- after ``max_wait`` seconds the caller leaves by the overflow chain with reason ``TIMEOUT``;
  when the last member goes away and ``leave_when_empty`` is on, with reason ``LEAVEEMPTY``;
- after a call the agent is in wrap-up for ``wrap_up_seconds`` before being rung again.

"Empty" means: no member is available, ringing, on a call or in wrap-up (every member is logged
out or paused) — a station whose agents are all paused cannot answer anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "AgentState",
    "OverflowMobile",
    "OverflowQueue",
    "OverflowTarget",
    "OverflowVoicemail",
    "QueueConfig",
    "QueueConfigError",
    "QueueMember",
    "Strategy",
    "Tier",
]


class QueueConfigError(ValueError):
    """A queue configuration that cannot run (negative timeout, duplicate tier, ...)."""


class AgentState(StrEnum):
    """Where an agent is, as the ACD sees it. The values are the ones the API and the store use."""

    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


class Strategy(StrEnum):
    """How a queue picks the agent(s) to ring among the free eligible members."""

    RING_ALL = "ring-all"
    """Every free eligible member at once; the first to answer takes the call."""
    LONGEST_IDLE = "longest-idle"
    """The member idle longest (since their last call ended, or since they logged in)."""
    ROUND_ROBIN = "round-robin"
    """The member after the one rung last by this queue, in member order (the queue remembers)."""
    FEWEST_CALLS = "fewest-calls"
    """The member who took the fewest calls today; ties go to the longest idle."""
    RANDOM = "random"
    """A member chosen by the ACD's injected random generator."""


@dataclass(frozen=True, slots=True)
class Tier:
    """Members of ``level`` become eligible once a call has waited ``after_seconds`` in the queue."""

    level: int
    after_seconds: float


@dataclass(frozen=True, slots=True)
class QueueMember:
    """An agent who answers a queue, at a tier level (0: the station's own agents)."""

    agent: str
    tier: int = 0


@dataclass(frozen=True, slots=True)
class OverflowQueue:
    """Move the caller to another queue (if that queue takes the call; else try the next target)."""

    queue: str


@dataclass(frozen=True, slots=True)
class OverflowVoicemail:
    """Let the caller leave a message (the flow's voicemail)."""


@dataclass(frozen=True, slots=True)
class OverflowMobile:
    """Forward the caller to a configured mobile (e.g. the station's on-duty phone)."""

    number: str


OverflowTarget = OverflowQueue | OverflowVoicemail | OverflowMobile
"""One step of a queue's overflow chain."""


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """One queue: per station and purpose (orders, inquiries, complaints).

    Times are seconds; ``None`` turns a feature off.
    """

    name: str
    strategy: Strategy = Strategy.LONGEST_IDLE
    ring_timeout: float = 15.0
    """How long one agent is rung before the next is tried (an agent's own timeout wins)."""
    retry_seconds: float = 5.0
    """An agent who did not answer (or refused) a call is not rung for that same call again before."""
    max_wait: float | None = 120.0
    max_length: int | None = None
    wrap_up_seconds: float = 10.0
    join_when_empty: bool = True
    leave_when_empty: bool = False
    ring_in_use: bool = False
    """Ring agents that are busy on a call outside this ACD (a direct call on their phone)."""
    whisper: bool = False
    """Tell the agent which queue the call comes from (a short spoken phrase on the agent's leg only)
    before the caller is connected."""
    announce_every: float | None = 30.0
    announce_position: bool = True
    announce_wait: bool = True
    comfort_every: float | None = None
    comfort_prompt: str | None = None
    music_on_hold: str = "queue-moh"
    tiers: tuple[Tier, ...] = ()
    """Levels other than 0 and when they join; a member of a level not listed is eligible at once."""
    overflow: tuple[OverflowTarget, ...] = (OverflowVoicemail(),)
    """Tried in order when the caller must leave (TIMEOUT, FULL, JOINEMPTY, LEAVEEMPTY); an empty
    chain or one whose queues all refuse ends the call."""
    callback_after: float | None = None
    """After this wait the caller is offered to press 1 to be called back and keep the place."""
    callback_ring_timeout: float = 30.0
    """How long the customer's phone rings when the ACD calls back."""

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.name:
            problems.append("name is empty")
        if self.ring_timeout <= 0:
            problems.append("ring_timeout must be > 0")
        if self.retry_seconds < 0:
            problems.append("retry_seconds must be >= 0")
        if self.wrap_up_seconds < 0:
            problems.append("wrap_up_seconds must be >= 0")
        if self.callback_ring_timeout <= 0:
            problems.append("callback_ring_timeout must be > 0")
        for label, value in (
            ("max_wait", self.max_wait),
            ("announce_every", self.announce_every),
            ("comfort_every", self.comfort_every),
            ("callback_after", self.callback_after),
        ):
            if value is not None and value <= 0:
                problems.append(f"{label} must be > 0 or None")
        if self.max_length is not None and self.max_length < 1:
            problems.append("max_length must be >= 1 or None")
        if self.comfort_every is not None and not self.comfort_prompt:
            problems.append("comfort_every needs comfort_prompt")
        levels = [tier.level for tier in self.tiers]
        if len(set(levels)) != len(levels):
            problems.append("tier levels repeat")
        if any(tier.after_seconds < 0 for tier in self.tiers):
            problems.append("tier after_seconds must be >= 0")
        if any(isinstance(t, OverflowQueue) and t.queue == self.name for t in self.overflow):
            problems.append("overflow to the queue itself")
        if problems:
            raise QueueConfigError(f"queue {self.name!r}: " + "; ".join(problems))

    def tier_after(self, level: int) -> float:
        """Seconds a call waits before members of ``level`` are eligible (0 for unlisted levels)."""
        for tier in self.tiers:
            if tier.level == level:
                return tier.after_seconds
        return 0.0
