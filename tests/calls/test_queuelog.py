"""Queue log entries say which one ends a call."""

from __future__ import annotations

from waterline.calls.queue import AgentState
from waterline.calls.queuelog import AgentStateChange, QueueEvent, QueueLogEntry


def test_an_exit_to_another_queue_does_not_end_the_call() -> None:
    moved = QueueLogEntry(10.0, "orders", "c1", QueueEvent.TIMEOUT, wait=10.0, detail="queue:inquiries")
    left = QueueLogEntry(10.0, "orders", "c1", QueueEvent.TIMEOUT, wait=10.0, detail="voicemail")
    assert not moved.ends_call
    assert left.ends_call


def test_terminal_events() -> None:
    def entry(event: QueueEvent) -> QueueLogEntry:
        return QueueLogEntry(1.0, "q", "c", event)

    assert entry(QueueEvent.ABANDON).ends_call
    assert entry(QueueEvent.COMPLETE_AGENT).ends_call
    assert entry(QueueEvent.CALLBACK_FAILED).ends_call
    assert not entry(QueueEvent.ENTER).ends_call
    assert not entry(QueueEvent.CONNECT).ends_call
    assert not entry(QueueEvent.CALLBACK_REQUESTED).ends_call


def test_agent_state_change_carries_time_and_reason() -> None:
    change = AgentStateChange(5.0, "li", AgentState.AVAILABLE, AgentState.PAUSED, "pause:meal")
    assert (change.at, change.reason, change.call_id) == (5.0, "pause:meal", "")
