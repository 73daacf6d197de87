"""Queues: configuration and members (read: ``queues.read``, dispatchers and above; change:
``queues.manage``, managers and owner) and the queue log filtered by time, queue, event and call."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from waterline.calls.queuelog import QueueEvent
from waterline.domain.errors import found
from waterline.domain.users import Permission, User
from waterline.services.ports import QueueLogFilter
from waterline.services.queues import config_from_json, create_queue, set_members, update_queue
from waterline.web.deps import ServicesDep, SettingsDep, UowDep
from waterline.web.routes.access import authorised
from waterline.web.schemas.queue import MemberIn, QueueIn, QueueLogOut, QueueOut


def _aware(value: datetime | None, zone: str) -> datetime | None:
    # a bare time from the console is local (display) time, not UTC
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=ZoneInfo(zone))


router = APIRouter(prefix="/api/queues", tags=["queues"])

MAX_LOG_PAGE = 5000


def _now(services: ServicesDep) -> datetime:
    return datetime.fromtimestamp(services.clock(), UTC)


@router.get("")
def list_queues(
    _user: Annotated[User, authorised(Permission.QUEUES_READ)],
    uow: UowDep,
    station_id: Annotated[int | None, Query(description="站点 / station")] = None,
) -> list[QueueOut]:
    """Every queue (of one station when given), by name."""
    with uow:
        return [QueueOut.of(queue) for queue in uow.queues.all(station_id=station_id)]


@router.get("/log")
def queue_log(
    _user: Annotated[User, authorised(Permission.QUEUES_READ)],
    uow: UowDep,
    settings: SettingsDep,
    day: Annotated[date | None, Query(description="日期（本地）/ local day")] = None,
    since: Annotated[datetime | None, Query(alias="from", description="开始时间（含）/ from")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="结束时间（不含）/ before")] = None,
    queue: Annotated[str | None, Query(max_length=64, description="队列 / queue")] = None,
    event: Annotated[QueueEvent | None, Query(description="事件 / event")] = None,
    call_id: Annotated[str | None, Query(max_length=255)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LOG_PAGE)] = 500,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[QueueLogOut]:
    """Queue log lines, oldest first. ``day`` is a local calendar day (display time zone) and narrows
    ``from``/``to``; times without a zone are local."""
    zone = settings.display_timezone
    start, end = _aware(since, zone), _aware(until, zone)
    if day is not None:
        day_start = datetime.combine(day, time(0), ZoneInfo(zone))
        day_end = day_start + timedelta(days=1)
        start = day_start if start is None else max(start, day_start)
        end = day_end if end is None else min(end, day_end)
    criteria = QueueLogFilter(
        since=start, until=end, queue=queue, event=None if event is None else event.value, call_id=call_id,
        limit=limit, offset=offset,
    )
    with uow:
        return [QueueLogOut.of(record) for record in uow.queue_log.search(criteria)]


@router.get("/{queue_id}")
def get_queue(
    queue_id: int, _user: Annotated[User, authorised(Permission.QUEUES_READ)], uow: UowDep
) -> QueueOut:
    """One queue with its configuration and members."""
    with uow:
        return QueueOut.of(found(uow.queues.get(queue_id), "queue", queue_id))


@router.post("", status_code=201)
def create(
    body: QueueIn, _user: Annotated[User, authorised(Permission.QUEUES_MANAGE)], uow: UowDep,
    services: ServicesDep,
) -> QueueOut:
    """Create a queue of a station for one purpose; 422 with the reason for a configuration the ACD
    cannot run, 409 when the name or the station's purpose is taken."""
    config = config_from_json(body.name, body.config)
    members = [m.member() for m in body.members or []]
    queue = create_queue(
        uow, station_id=body.station_id, purpose=body.purpose, config=config, members=members,
        now=_now(services),
    )
    return QueueOut.of(queue)


@router.put("/{queue_id}")
def replace(
    queue_id: int, body: QueueIn, _user: Annotated[User, authorised(Permission.QUEUES_MANAGE)], uow: UowDep,
    services: ServicesDep,
) -> QueueOut:
    """Replace a queue's name, station, purpose and configuration (and members, when given)."""
    config = config_from_json(body.name, body.config)
    members = None if body.members is None else [m.member() for m in body.members]
    queue = update_queue(uow, queue_id, station_id=body.station_id, purpose=body.purpose, config=config,
                         members=members, now=_now(services))
    return QueueOut.of(queue)


@router.put("/{queue_id}/members")
def replace_members(
    queue_id: int, body: list[MemberIn], _user: Annotated[User, authorised(Permission.QUEUES_MANAGE)],
    uow: UowDep,
) -> QueueOut:
    """Replace a queue's members (an empty list leaves the queue without agents)."""
    return QueueOut.of(set_members(uow, queue_id, [m.member() for m in body]))
