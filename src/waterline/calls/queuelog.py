"""What the ACD records: queue log entries and agent state changes, as frozen values.

The ACD appends these as things happen (``Acd.take_records()`` hands them over); the agents part
stores them (tables ``queue_log`` and the agent state log), and the analytics issue reads them.
``at`` is the ``now`` the ACD was given: the driver feeds the ACD wall-clock epoch seconds so the
times can be stored as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from waterline.calls.queue import AgentState

__all__ = ["AgentStateChange", "QueueEvent", "QueueLogEntry", "Record"]


class QueueEvent(StrEnum):
    """Kinds of queue log entries (after Asterisk's queue_log and QUEUESTATUS)."""

    ENTER = "enter"
    """The caller joined (``position`` at joining)."""
    RING_NO_ANSWER = "ring-no-answer"
    """An agent was rung and did not answer in time (``agent``, ``wait`` = seconds rung)."""
    RING_REFUSED = "ring-refused"
    """An agent's phone refused or failed (``detail`` = SIP status, e.g. ``486``)."""
    CONNECT = "connect"
    """An agent answered (``agent``, ``wait`` = seconds in this queue, ``position``)."""
    ABANDON = "abandon"
    """The caller hung up while waiting (``position``, ``wait``)."""
    TIMEOUT = "timeout"
    """Waited ``max_wait``; ``detail`` = where the caller went (see :attr:`QueueLogEntry.ends_call`)."""
    FULL = "full"
    """The queue was at ``max_length`` when the caller came; ``detail`` = where the caller went."""
    JOINEMPTY = "joinempty"
    """No member present when the caller came and ``join_when_empty`` is off; ``detail`` = where."""
    LEAVEEMPTY = "leaveempty"
    """The last member left while the caller waited; ``detail`` = where the caller went."""
    COMPLETE_CALLER = "complete-caller"
    """A connected call ended by the caller (``wait`` = talk seconds)."""
    COMPLETE_AGENT = "complete-agent"
    """A connected call ended by the agent (``wait`` = talk seconds)."""
    TRANSFER = "transfer"
    """The agent transferred the call (``detail`` = target)."""
    CALLBACK_REQUESTED = "callback-requested"
    """The caller pressed 1: hung up, keeps the place (``position``, ``wait``)."""
    CALLBACK_CONNECTED = "callback-connected"
    """The agent answered, then the customer: they are bridged (``wait`` = since joining)."""
    CALLBACK_FAILED = "callback-failed"
    """The customer could not be reached on call-back (``detail`` = status or ``no-answer``)."""


EXIT_EVENTS = frozenset({QueueEvent.TIMEOUT, QueueEvent.FULL, QueueEvent.JOINEMPTY, QueueEvent.LEAVEEMPTY})
_TERMINAL = frozenset(
    {
        QueueEvent.ABANDON,
        QueueEvent.COMPLETE_CALLER,
        QueueEvent.COMPLETE_AGENT,
        QueueEvent.TRANSFER,
        QueueEvent.CALLBACK_FAILED,
    }
)


@dataclass(frozen=True, slots=True)
class QueueLogEntry:
    """One line of the queue log.

    ``detail`` for exits (TIMEOUT/FULL/JOINEMPTY/LEAVEEMPTY) names where the caller went:
    ``queue:NAME`` (another queue took the call: a new ``ENTER`` follows there), ``voicemail``,
    ``mobile:NUMBER`` or ``hangup`` (the overflow chain was empty or every queue in it refused).
    """

    at: float
    queue: str
    call_id: str
    event: QueueEvent
    agent: str = ""
    position: int | None = None
    wait: float | None = None
    detail: str = ""

    @property
    def ends_call(self) -> bool:
        """True for the one entry that ends a call's time in the ACD (every call gets exactly one)."""
        if self.event in EXIT_EVENTS:
            return not self.detail.startswith("queue:")
        return self.event in _TERMINAL


@dataclass(frozen=True, slots=True)
class AgentStateChange:
    """An agent moved from ``previous`` to ``state`` at ``at``; ``reason`` says why (``login``,
    ``pause:meal``, ``ring``, ``answered``, ``no-answer``, ``wrap-up``, ``wrap-up-done``...)."""

    at: float
    agent: str
    previous: AgentState
    state: AgentState
    reason: str
    call_id: str = ""


Record = QueueLogEntry | AgentStateChange
"""Everything ``Acd.take_records()`` returns."""
