"""The audit log (audit.read: managers and the owner): who changed what through the API, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel

from waterline.adapters.db.audit import AuditFilter, AuditLogRepository, AuditRow
from waterline.domain.users import Permission, User
from waterline.web.deps import SessionDep, SettingsDep
from waterline.web.routes.access import authorised

router = APIRouter(prefix="/api/audit", tags=["audit"])

MAX_PAGE = 500


class AuditEntryOut(BaseModel):
    """One change: when, by whom, which route and ids, the response status and the request sent."""

    id: int
    at: datetime
    user_id: int | None
    username: str
    display_name: str
    role: str
    method: str
    path: str
    route: str
    resource: str
    target: str
    status: int
    summary: str

    @classmethod
    def of(cls, row: AuditRow) -> AuditEntryOut:
        """The API view of ``row``."""
        e = row.entry
        assert e.id is not None
        return cls(
            id=e.id, at=e.at, user_id=e.user_id, username=row.username, display_name=row.display_name,
            role=e.role, method=e.method, path=e.path, route=e.route, resource=e.resource, target=e.target,
            status=e.status, summary=e.summary,
        )


def _aware(value: datetime | None, zone: str) -> datetime | None:
    # a bare time from the console is local (display) time
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=ZoneInfo(zone))


@router.get("")
def list_audit(
    _user: Annotated[User, authorised(Permission.AUDIT_READ)],
    session: SessionDep,
    settings: SettingsDep,
    since: Annotated[datetime | None, Query(alias="from", description="开始时间（含）/ from")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="结束时间（不含）/ before")] = None,
    user_id: Annotated[int | None, Query(description="操作人 / by user")] = None,
    resource: Annotated[
        str | None, Query(max_length=40, description="对象，如 orders、customers / resource")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AuditEntryOut]:
    """Changes in ``[from, to)`` (times without a zone are local), by one user, on one resource."""
    zone = settings.display_timezone
    where = AuditFilter(
        since=_aware(since, zone), until=_aware(until, zone), user_id=user_id, resource=resource or None,
        limit=limit, offset=offset,
    )
    return [AuditEntryOut.of(row) for row in AuditLogRepository(session).search(where)]
