"""The audit log page (操作日志): who changed what, for managers and the owner."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from waterline.domain.users import Permission, User
from waterline.web.console.access import page_user
from waterline.web.console.page import Page
from waterline.web.console.render import render

AUDIT = Page(
    "/console/audit",
    "nav.audit.log",
    Permission.AUDIT_READ,
    section="nav.section.admin",
    order=95,
    icon="✎",
)
PAGES = (AUDIT,)

router = APIRouter(include_in_schema=False)


@router.get(AUDIT.path)
def audit_log(request: Request, user: Annotated[User, page_user(AUDIT)]) -> HTMLResponse:
    """The audit log, filtered by day, resource and user."""
    return render(request, "audit/log.html", user=user, page=AUDIT)
