"""/api/queues: create, read, replace, members, and the queue log, with roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.adapters.db.users import UserRepository
from waterline.domain.queuelog import QueueLogRecord
from waterline.domain.users import Role

from .conftest import FAST_HASHER, PASSWORD, START, Shop


def _agent(shop: Shop, name: str) -> None:
    uow: SqlAlchemyUnitOfWork = shop.uow_factory()
    with uow:
        UserRepository(uow.session, FAST_HASHER).add(name, Role.AGENT, PASSWORD, now=START)
        uow.commit()


def _body(shop: Shop, **extra: Any) -> dict[str, Any]:
    return {
        "name": "orders-yanta",
        "station_id": shop.ids["yanta"],
        "purpose": "orders",
        "config": {
            "strategy": "round-robin", "ring_timeout": 12, "tiers": [{"level": 1, "after_seconds": 20}],
            "overflow": [{"queue": "orders-weiyang"}, {"voicemail": True}],
        },
        "members": [{"agent": "agent"}, {"agent": "li", "tier": 1}],
        **extra,
    }


def test_queue_create_read_replace(shop: Shop) -> None:
    _agent(shop, "li")
    created = shop.post("/api/queues", _body(shop), as_user="manager")
    assert created.status_code == 201, created.text
    queue = created.json()
    assert queue["config"]["strategy"] == "round-robin" and queue["config"]["ring_timeout"] == 12
    assert queue["config"]["max_wait"] == 120.0  # the ACD default, filled in
    assert queue["members"] == [{"agent": "agent", "tier": 0}, {"agent": "li", "tier": 1}]
    assert shop.post("/api/queues", _body(shop), as_user="manager").status_code == 409
    listed = shop.get("/api/queues", as_user="dispatcher", station_id=shop.ids["yanta"]).json()
    assert [q["name"] for q in listed] == ["orders-yanta"]
    assert shop.get(f"/api/queues/{queue['id']}", as_user="dispatcher").json()["id"] == queue["id"]
    put = shop.client.put(
        f"/api/queues/{queue['id']}", headers=shop.auth("manager"),
        json=_body(shop, members=None, config={"strategy": "ring-all"}),
    )
    assert put.status_code == 200, put.text
    assert put.json()["config"]["strategy"] == "ring-all" and len(put.json()["members"]) == 2
    members = shop.client.put(
        f"/api/queues/{queue['id']}/members", headers=shop.auth("manager"), json=[{"agent": "li"}]
    )
    assert members.status_code == 200 and members.json()["members"] == [{"agent": "li", "tier": 0}]
    unknown = shop.client.put(
        f"/api/queues/{queue['id']}/members", headers=shop.auth("manager"), json=[{"agent": "dispatcher"}]
    )
    assert unknown.status_code == 404


def test_bad_configuration_is_refused_with_the_reason(shop: Shop) -> None:
    bad = shop.post("/api/queues", _body(shop, config={"ring_timeout": 0}), as_user="manager")
    assert bad.status_code == 422 and bad.json()["error"] == "queue.invalid_config"
    assert "ring_timeout" in bad.json()["message_en"] and "队列配置无效" in bad.json()["message_zh"]
    unknown = shop.post("/api/queues", _body(shop, config={"speed": 1}), as_user="manager")
    assert unknown.status_code == 422
    no_station = shop.post("/api/queues", _body(shop, station_id=999_999, members=[]), as_user="manager")
    assert no_station.status_code == 404


def test_queue_roles(shop: Shop) -> None:
    assert shop.post("/api/queues", _body(shop, members=[]), as_user="dispatcher").status_code == 403
    assert shop.get("/api/queues", as_user="agent").status_code == 403
    assert shop.get("/api/queues/log", as_user="agent").status_code == 403
    assert shop.get("/api/queues", as_user="dispatcher").status_code == 200


def test_queue_log_filters(shop: Shop) -> None:
    t0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # 09:00 in Xi'an
    s = timedelta(seconds=1)
    with shop.uow_factory() as uow:
        uow.queue_log.add_many([
            QueueLogRecord(t0, "orders-yanta", "c1", "enter", position=1),
            QueueLogRecord(t0 + 8 * s, "orders-yanta", "c1", "connect", agent="agent", wait=8.0),
            QueueLogRecord(t0 + 300 * s, "orders-weiyang", "c2", "abandon", position=2, wait=41.0),
            QueueLogRecord(t0 + 16 * 3600 * s, "orders-yanta", "c3", "enter", position=1),  # next day
        ])
        uow.commit()
    day = shop.get("/api/queues/log", as_user="dispatcher", day="2026-11-25").json()
    assert [(r["call_id"], r["event"]) for r in day] == [
        ("c1", "enter"), ("c1", "connect"), ("c2", "abandon")
    ]
    assert day[1]["wait"] == 8.0 and day[1]["agent"] == "agent"
    abandon = shop.get("/api/queues/log", as_user="dispatcher", event="abandon").json()
    assert [(r["queue"], r["position"], r["wait"]) for r in abandon] == [("orders-weiyang", 2, 41.0)]
    yanta = shop.get("/api/queues/log", as_user="dispatcher", queue="orders-yanta").json()
    assert [r["call_id"] for r in yanta] == ["c1", "c1", "c3"]
    local = shop.get("/api/queues/log", as_user="dispatcher", **{"from": "2026-11-25T09:01:00"}).json()
    assert [r["call_id"] for r in local] == ["c2", "c3"]
    assert shop.get("/api/queues/log", as_user="dispatcher", event="nonsense").status_code == 422
