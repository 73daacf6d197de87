"""Holiday overrides: the manual corrections of the working-day calendar (read by anyone who sees the
stations, replaced by calendar.manage) for years the holiday package does not cover yet."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter

from waterline.domain.users import Permission, User
from waterline.services.holidays import replace_overrides
from waterline.web.deps import ServicesDep, UowDep
from waterline.web.routes.access import authorised
from waterline.web.schemas.holiday import HolidayOverrideIn, HolidayOverrideOut

router = APIRouter(prefix="/api/holidays", tags=["calendar"])


@router.get("/overrides")
def get_overrides(
    _user: Annotated[User, authorised(Permission.STATIONS_READ)], uow: UowDep
) -> list[HolidayOverrideOut]:
    """Every override, by day."""
    with uow:
        return [HolidayOverrideOut.of(o) for o in uow.holidays.all()]


@router.put("/overrides")
def put_overrides(
    body: list[HolidayOverrideIn], _user: Annotated[User, authorised(Permission.CALENDAR_MANAGE)],
    uow: UowDep, services: ServicesDep,
) -> list[HolidayOverrideOut]:
    """Replace the whole table (a day may appear once); the telephony engine reads it at its next refresh."""
    now = datetime.fromtimestamp(services.clock(), UTC)
    saved = replace_overrides(uow, [(o.day, o.is_workday, o.note) for o in body], now=now)
    return [HolidayOverrideOut.of(o) for o in saved]
