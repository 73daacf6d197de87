"""The logged-in agent's own calls of a day (the desktop's "my calls today")."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from waterline.domain.users import Permission, User
from waterline.services.agentcalls import calls_of_agent
from waterline.web.deps import ServicesDep, SettingsDep, UowDep
from waterline.web.routes.access import authorised
from waterline.web.schemas.call import CallOut

router = APIRouter(prefix="/api/agents", tags=["agents"])


@router.get("/me/calls")
def my_calls(
    user: Annotated[User, authorised(Permission.CALLS_HANDLE)],
    uow: UowDep,
    settings: SettingsDep,
    services: ServicesDep,
    day: Annotated[date | None, Query(description="日期（默认今天）/ day (default today)")] = None,
) -> list[CallOut]:
    """The calls the logged-in user took as an agent on ``day`` (local time), newest first."""
    zone = ZoneInfo(settings.display_timezone)
    today = datetime.fromtimestamp(services.clock(), UTC).astimezone(zone).date()
    start = datetime.combine(day or today, time(0, 0), tzinfo=zone)
    records = calls_of_agent(uow, user.username, start=start, end=start + timedelta(days=1))
    return [CallOut.of(record) for record in records]
