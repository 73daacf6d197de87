"""/api/wallboard: today's calls by outcome, queue figures from the queue log, agents' states."""

from __future__ import annotations

from datetime import timedelta

from waterline.domain.callrecords import CallOutcome, CallRecord, HangupSide
from waterline.domain.queuelog import QueueLogRecord

from .conftest import START, Shop


def _seed(shop: Shop) -> None:
    with shop.uow_factory() as uow:
        for n, outcome in enumerate([CallOutcome.ORDER_PLACED, CallOutcome.ABANDONED, None]):
            record = CallRecord(f"call-{n}", "13912345678", "4006360888", START - timedelta(minutes=30 - n))
            if outcome is not None:
                record.close(ended_at=record.started_at + timedelta(seconds=40), outcome=outcome,
                             hangup_side=HangupSide.CALLER)
            uow.calls.add(record)
        yesterday = CallRecord("old", "13912345678", "4006360888", START - timedelta(days=1))
        uow.calls.add(yesterday)
        q = "yanta-orders"
        t = START - timedelta(minutes=30)
        uow.queue_log.add_many([
            QueueLogRecord(t, q, "call-0", "enter"),
            QueueLogRecord(t + timedelta(seconds=8), q, "call-0", "connect", agent="agent", wait=8),
            QueueLogRecord(t + timedelta(minutes=1), q, "call-1", "enter"),
            QueueLogRecord(t + timedelta(minutes=1, seconds=30), q, "call-1", "abandon", wait=30),
            QueueLogRecord(START - timedelta(seconds=45), q, "call-2", "enter"),
            QueueLogRecord(START - timedelta(days=1), q, "old", "enter"),
        ])
        uow.commit()


def test_wallboard_figures(shop: Shop) -> None:
    _seed(shop)
    assert shop.post("/api/agents/me/state", {"state": "available"}, as_user="agent").status_code == 200
    response = shop.get("/api/wallboard", as_user="dispatcher")
    assert response.status_code == 200, response.text
    board = response.json()
    assert board["day"] == "2026-11-25" and board["service_seconds"] == 20
    assert board["calls_today"] == 3
    assert board["calls"] == {"order-placed": 1, "abandoned": 1, "open": 1}
    total = board["total"]
    assert (total["offered"], total["answered"], total["abandoned"], total["waiting"]) == (3, 1, 1, 1)
    assert total["longest_wait"] == 45 and total["answer_rate"] == 0.5 and total["service_level"] == 0.5
    [queue] = board["queues"]
    assert queue["queue"] == "yanta-orders" and queue["waiting"] == 1
    assert board["agent_states"]["available"] == 1
    assert [(a["username"], a["state"]) for a in board["agents"]] == [("agent", "available")]
    lenient = shop.get("/api/wallboard", as_user="manager", service_seconds=5).json()
    assert lenient["total"]["service_level"] == 0.0


def test_wallboard_roles(shop: Shop) -> None:
    for role in ("dispatcher", "manager", "owner"):
        assert shop.get("/api/wallboard", as_user=role).status_code == 200
    for role in ("agent", "courier"):
        assert shop.get("/api/wallboard", as_user=role).status_code == 403
