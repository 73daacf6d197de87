"""The queue store (configuration as JSON, members) and the queue log, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.adapters.db.users import UserRepository
from waterline.calls.queue import OverflowMobile, OverflowQueue, QueueConfig, QueueMember, Strategy, Tier
from waterline.domain.agents import QueuePurpose
from waterline.domain.errors import Conflict, NotFound
from waterline.domain.queuelog import QueueLogRecord
from waterline.domain.users import Role
from waterline.services.ports import QueueDefinition, QueueLogFilter

from .conftest import yanta_station

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

CONFIG = QueueConfig(
    name="orders-yanta", strategy=Strategy.ROUND_ROBIN, ring_timeout=12.0, max_length=5,
    tiers=(Tier(1, 20.0),), overflow=(OverflowQueue("orders-weiyang"), OverflowMobile("13991110001")),
    callback_after=60.0,
)


def _world(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        repo = UserRepository(session, FAST)
        for name in ("li", "wu"):
            repo.add(name, Role.AGENT, "password-1", now=T0)
        repo.add("boss", Role.MANAGER, "password-1", now=T0)
        session.commit()
    uow = SqlAlchemyUnitOfWork(factory)
    with uow:
        station = uow.stations.add(yanta_station())
        uow.commit()
    assert station.id is not None
    return station.id


def test_queue_round_trip_with_members(session_factory: sessionmaker[Session]) -> None:
    station_id = _world(session_factory)
    uow = SqlAlchemyUnitOfWork(session_factory)
    with uow:
        stored = uow.queues.add(QueueDefinition(station_id, QueuePurpose.ORDERS, CONFIG, T0))
        assert stored.id is not None
        uow.queues.set_members(stored.id, [QueueMember("wu", 1), QueueMember("li", 0)])
        uow.commit()
    with uow:
        loaded = uow.queues.get_by_name("orders-yanta")
        assert loaded is not None and loaded.id == stored.id
        assert loaded.config == CONFIG
        assert loaded.members == (QueueMember("li", 0), QueueMember("wu", 1))
        assert loaded.purpose is QueuePurpose.ORDERS and loaded.updated_at == T0
        assert [q.config.name for q in uow.queues.all(station_id=station_id)] == ["orders-yanta"]
        assert uow.queues.all(station_id=station_id + 1) == []
    with uow:
        faster = replace(CONFIG, ring_timeout=8.0)
        uow.queues.save(replace(loaded, config=faster, updated_at=T0 + timedelta(hours=1)))
        uow.queues.set_members(stored.id, [QueueMember("wu", 0)])
        uow.commit()
    with uow:
        again = uow.queues.get(stored.id)
        assert again is not None and again.config.ring_timeout == 8.0
        assert again.members == (QueueMember("wu", 0),)


def test_queue_uniqueness_and_unknown_members(session_factory: sessionmaker[Session]) -> None:
    station_id = _world(session_factory)
    uow = SqlAlchemyUnitOfWork(session_factory)
    with uow:
        stored = uow.queues.add(QueueDefinition(station_id, QueuePurpose.ORDERS, CONFIG, T0))
        uow.commit()
    with uow:
        with pytest.raises(Conflict):  # one queue per station and purpose
            other = replace(CONFIG, name="orders-2")
            uow.queues.add(QueueDefinition(station_id, QueuePurpose.ORDERS, other, T0))
    with uow:
        assert stored.id is not None
        with pytest.raises(NotFound):  # a manager is no agent
            uow.queues.set_members(stored.id, [QueueMember("boss", 0)])


def test_queue_log_appends_and_filters(session_factory: sessionmaker[Session]) -> None:
    _world(session_factory)
    uow = SqlAlchemyUnitOfWork(session_factory)
    records = [
        QueueLogRecord(T0, "orders-yanta", "c1", "enter", position=1),
        QueueLogRecord(T0 + timedelta(seconds=9), "orders-yanta", "c1", "connect", agent="li", position=1,
                       wait=9.0),
        QueueLogRecord(T0 + timedelta(seconds=30), "orders-weiyang", "c2", "abandon", position=2, wait=30.5,
                       detail={"caller": "13912345678"}),
        QueueLogRecord(T0 + timedelta(days=1), "orders-yanta", "c3", "timeout", wait=120.0,
                       reason="voicemail"),
    ]
    with uow:
        uow.queue_log.add_many(records)
        uow.queue_log.add_many([])
        uow.commit()
    with uow:
        every = uow.queue_log.search(QueueLogFilter())
        assert [(r.call_id, r.event) for r in every] == [
            ("c1", "enter"), ("c1", "connect"), ("c2", "abandon"), ("c3", "timeout")
        ]
        assert every[2].detail == {"caller": "13912345678"} and every[2].wait == 30.5
        assert every[3].reason == "voicemail" and every[0].at == T0
        one_day = QueueLogFilter(since=T0, until=T0 + timedelta(days=1), queue="orders-yanta")
        day = uow.queue_log.search(one_day)
        assert [r.event for r in day] == ["enter", "connect"]
        assert [r.call_id for r in uow.queue_log.search(QueueLogFilter(event="abandon"))] == ["c2"]
        assert [r.event for r in uow.queue_log.search(QueueLogFilter(call_id="c1", limit=1, offset=1))] == [
            "connect"
        ]
