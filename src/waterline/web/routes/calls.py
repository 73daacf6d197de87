"""Call detail records (calls.read): the call log filtered by time, caller and outcome, and one call with
the path its flow took."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from waterline.domain import phones
from waterline.domain.callrecords import CallOutcome
from waterline.domain.errors import InvalidInput, NotFound
from waterline.domain.users import Permission, User
from waterline.services.ports import CallFilter
from waterline.web.deps import SettingsDep, UowDep
from waterline.web.routes.access import authorised
from waterline.web.schemas.call import CallDetailOut, CallOut

router = APIRouter(prefix="/api/calls", tags=["calls"])

MAX_PAGE = 500


def _aware(value: datetime | None, zone: str) -> datetime | None:
    # a bare date or time from the console is local (display) time, not UTC
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=ZoneInfo(zone))


def _caller(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return phones.normalise(raw)
    except InvalidInput:
        return raw.strip()  # a withheld or odd caller id is stored as the carrier sent it


@router.get("")
def list_calls(
    _user: Annotated[User, authorised(Permission.CALLS_READ)],
    uow: UowDep,
    settings: SettingsDep,
    started_from: Annotated[datetime | None, Query(alias="from", description="开始时间（含）/ from")] = None,
    started_to: Annotated[datetime | None, Query(alias="to", description="结束时间（不含）/ before")] = None,
    caller: Annotated[str | None, Query(max_length=32, description="主叫号码 / caller")] = None,
    outcome: Annotated[CallOutcome | None, Query(description="结果 / outcome")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[CallOut]:
    """Calls started in ``[from, to)``, of one caller, with one outcome; newest first, paginated.

    Times without a zone are in the display time zone (Asia/Shanghai by default).
    """
    zone = settings.display_timezone
    criteria = CallFilter(
        started_from=_aware(started_from, zone), started_to=_aware(started_to, zone),
        caller=_caller(caller), outcome=outcome, limit=limit, offset=offset,
    )
    with uow:
        return [CallOut.of(record) for record in uow.calls.search(criteria)]


@router.get("/{record_id}", responses={404: {"description": "未找到 / not found"}})
def get_call(
    record_id: int, _user: Annotated[User, authorised(Permission.CALLS_READ)], uow: UowDep
) -> CallDetailOut:
    """One call with its path (nodes, digits, timestamps)."""
    with uow:
        record = uow.calls.get(record_id)
    if record is None:
        raise NotFound("call", record_id)
    return CallDetailOut.of(record)
