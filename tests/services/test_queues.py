"""Queue configuration JSON, queue service functions and the queue log on fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fakes import FakeStore, World
from waterline.calls.queue import (
    OverflowMobile,
    OverflowQueue,
    OverflowVoicemail,
    QueueConfig,
    QueueMember,
    Strategy,
    Tier,
)
from waterline.calls.queuelog import QueueEvent, QueueLogEntry
from waterline.domain.agents import QueuePurpose
from waterline.domain.callrecords import CallRecord
from waterline.domain.errors import Conflict, InvalidInput, NotFound
from waterline.domain.tasks import TaskKind, TaskState
from waterline.services.ports import QueueLogFilter
from waterline.services.queues import (
    config_from_json,
    config_to_json,
    create_queue,
    log_record,
    set_members,
    store_log,
    update_queue,
)

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)

FULL = QueueConfig(
    name="orders-yanta", strategy=Strategy.FEWEST_CALLS, ring_timeout=10.0, max_wait=90.0, max_length=4,
    wrap_up_seconds=5.0, join_when_empty=False, leave_when_empty=True, announce_every=20.0,
    comfort_every=40.0, comfort_prompt="comfort", tiers=(Tier(1, 15.0),),
    overflow=(OverflowQueue("orders-weiyang"), OverflowMobile("13991110001"), OverflowVoicemail()),
    callback_after=45.0,
)


def test_config_json_round_trip() -> None:
    data = config_to_json(FULL)
    assert "name" not in data and data["strategy"] == "fewest-calls"
    assert data["overflow"] == [{"queue": "orders-weiyang"}, {"mobile": "13991110001"}, {"voicemail": True}]
    assert config_from_json("orders-yanta", data) == FULL
    assert config_from_json("q", {}) == QueueConfig(name="q")


@pytest.mark.parametrize(
    "data",
    [
        {"colour": "blue"},
        {"strategy": "loudest"},
        {"ring_timeout": -1},
        {"ring_timeout": "soon"},
        {"max_wait": True},
        {"join_when_empty": 1},
        {"tiers": [{"level": 1}]},
        {"overflow": [{"fax": "x"}]},
        {"overflow": [{"mobile": "not a phone"}]},
        {"overflow": [{"queue": "q"}]},
        {"comfort_every": 30},
    ],
)
def test_config_json_refused(data: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as caught:
        config_from_json("q", data)
    assert caught.value.code == "queue.invalid_config"
    assert "队列配置无效" in caught.value.message_zh


def test_create_update_and_members(store: FakeStore, world: World) -> None:
    store.add_agent("li")
    store.add_agent("wu")
    created = create_queue(
        store.uow(), station_id=world.yanta, purpose=QueuePurpose.ORDERS, config=FULL,
        members=[QueueMember("wu", 1), QueueMember("li")], now=T0,
    )
    assert created.id is not None and created.members == (QueueMember("li", 0), QueueMember("wu", 1))
    with pytest.raises(Conflict):
        create_queue(store.uow(), station_id=world.yanta, purpose=QueuePurpose.ORDERS,
                     config=QueueConfig(name="other"), members=[], now=T0)
    with pytest.raises(NotFound):
        create_queue(store.uow(), station_id=999_999, purpose=QueuePurpose.INQUIRIES,
                     config=QueueConfig(name="x"), members=[], now=T0)
    later = T0 + timedelta(hours=1)
    moved = update_queue(store.uow(), created.id, station_id=world.weiyang, purpose=QueuePurpose.INQUIRIES,
                         config=QueueConfig(name="inquiries-weiyang"), members=None, now=later)
    assert (moved.station_id, moved.config.name) == (world.weiyang, "inquiries-weiyang")
    assert moved.updated_at == later
    assert len(moved.members) == 2
    assert set_members(store.uow(), created.id, [QueueMember("li", 2)]).members == (QueueMember("li", 2),)
    with pytest.raises(NotFound):
        set_members(store.uow(), created.id, [QueueMember("nobody")])
    with pytest.raises(NotFound):
        set_members(store.uow(), 999_999, [])


def test_acd_entries_are_stored(store: FakeStore) -> None:
    at = T0.timestamp()
    entries = [
        QueueLogEntry(at, "orders-yanta", "c1", QueueEvent.ENTER, position=1),
        QueueLogEntry(at + 30, "orders-yanta", "c1", QueueEvent.TIMEOUT, position=1, wait=30.0,
                      detail="queue:orders-weiyang"),
    ]
    assert log_record(entries[1]).reason == "queue:orders-weiyang"
    assert store_log(store.uow(), entries) == 2
    with store.uow() as uow:
        stored = uow.queue_log.search(QueueLogFilter(queue="orders-yanta"))
    assert [(r.event, r.at, r.wait) for r in stored] == [
        ("enter", T0, None), ("timeout", T0 + timedelta(seconds=30), 30.0)
    ]


def test_a_queue_call_back_is_a_task_done_when_connected_left_open_when_failed(store: FakeStore) -> None:
    at = T0.timestamp()
    with store.uow() as uow:
        uow.calls.add(CallRecord("c1", "13912345678", "4006360888", T0))
        uow.commit()
    store_log(store.uow(), [
        QueueLogEntry(at, "orders-yanta", "c1", QueueEvent.ENTER, position=1),
        QueueLogEntry(at + 40, "orders-yanta", "c1", QueueEvent.CALLBACK_REQUESTED, position=1, wait=40.0),
        QueueLogEntry(at + 50, "orders-yanta", "c2", QueueEvent.CALLBACK_REQUESTED, position=2, wait=50.0),
    ])
    with store.uow() as uow:
        opened = uow.tasks.search(state=TaskState.OPEN)
    assert sorted((t.call_id, t.caller, t.kind) for t in opened) == [
        ("c1", "13912345678", TaskKind.QUEUE_CALLBACK), ("c2", "", TaskKind.QUEUE_CALLBACK)]
    store_log(store.uow(), [
        QueueLogEntry(at + 90, "orders-yanta", "c1", QueueEvent.CALLBACK_CONNECTED, agent="kefu01",
                      wait=90.0),
        QueueLogEntry(at + 95, "orders-yanta", "c2", QueueEvent.CALLBACK_FAILED, detail="no-answer"),
    ])
    with store.uow() as uow:
        done = uow.tasks.search(state=TaskState.DONE)
        still_open = uow.tasks.search(state=TaskState.OPEN)
    assert [t.call_id for t in done] == ["c1"] and "kefu01" in done[0].note
    assert done[0].done_at == T0 + timedelta(seconds=90) and done[0].done_by is None
    assert [t.call_id for t in still_open] == ["c2"] and "no-answer" in still_open[0].note
