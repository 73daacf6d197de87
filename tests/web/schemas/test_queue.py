"""The queue schemas."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from waterline.calls.queue import QueueConfig, QueueMember
from waterline.domain.agents import QueuePurpose
from waterline.domain.queuelog import QueueLogRecord
from waterline.services.ports import QueueDefinition
from waterline.web.schemas.queue import MemberIn, QueueIn, QueueLogOut, QueueOut

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def test_queue_view_shows_the_full_config() -> None:
    queue = QueueDefinition(1, QueuePurpose.ORDERS, QueueConfig(name="orders-yanta"), T0,
                            (QueueMember("li", 1),), id=7)
    out = QueueOut.of(queue)
    assert out.name == "orders-yanta" and out.config["overflow"] == [{"voicemail": True}]
    assert [m.model_dump() for m in out.members] == [{"agent": "li", "tier": 1}]


def test_inputs() -> None:
    assert MemberIn(agent="li").member() == QueueMember("li", 0)
    with pytest.raises(ValidationError):
        QueueIn(name="Orders Yanta", station_id=1, purpose=QueuePurpose.ORDERS)
    assert QueueIn(name="orders-yanta", station_id=1, purpose=QueuePurpose.ORDERS).members is None


def test_log_view() -> None:
    out = QueueLogOut.of(QueueLogRecord(T0, "q", "c1", "abandon", position=2, wait=3.5, id=5))
    assert (out.id, out.event, out.position, out.wait, out.detail) == (5, "abandon", 2, 3.5, {})
