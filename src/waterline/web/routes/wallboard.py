"""The supervisor wallboard (agents.supervise): today's calls, queue figures (waiting, longest wait,
answered, abandoned, answer rate, service level) and every agent's state, in one read the console
refreshes every few seconds."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from waterline.adapters.db.callstats import calls_by_outcome
from waterline.analytics.metrics import DEFAULT_SERVICE_SECONDS, day_figures
from waterline.domain.agents import AgentState
from waterline.domain.users import Permission, User
from waterline.services.ports import QueueLogFilter
from waterline.web.deps import ServicesDep, SessionDep, SettingsDep, UowDep
from waterline.web.routes.access import authorised
from waterline.web.schemas.agent import AgentOut
from waterline.web.schemas.wallboard import QueueFiguresOut, WallboardOut

router = APIRouter(tags=["wallboard"])

# far more queue log lines than a day of a regional hotline writes (about 4 per queued call)
MAX_LOG_LINES = 200_000


@router.get("/api/wallboard")
def wallboard(
    _user: Annotated[User, authorised(Permission.AGENTS_SUPERVISE)],
    uow: UowDep,
    session: SessionDep,
    services: ServicesDep,
    settings: SettingsDep,
    service_seconds: Annotated[
        float, Query(gt=0, le=600, description="服务水平的接通时限（秒）/ service level threshold, seconds")
    ] = DEFAULT_SERVICE_SECONDS,
) -> WallboardOut:
    """Today's figures (the day of the display time zone) at this moment."""
    now = datetime.fromtimestamp(services.clock(), UTC)
    zone = ZoneInfo(settings.display_timezone)
    day = now.astimezone(zone).date()
    start = datetime.combine(day, time(0, 0), tzinfo=zone)
    end = start + timedelta(days=1)
    calls = calls_by_outcome(session, start, end)
    with uow:
        log = uow.queue_log.search(QueueLogFilter(since=start, until=end, limit=MAX_LOG_LINES))
        agents = uow.agents.statuses()
    figures = day_figures(log, now, service_seconds)
    states = {state: 0 for state in AgentState}
    for agent in agents:
        states[agent.state] += 1
    return WallboardOut(
        day=day,
        at=now,
        service_seconds=service_seconds,
        calls_today=sum(calls.values()),
        calls=calls,
        total=QueueFiguresOut.of(figures.total),
        queues=[QueueFiguresOut.of(q) for q in figures.queues],
        agents=[AgentOut.of(a) for a in agents],
        agent_states=states,
    )
