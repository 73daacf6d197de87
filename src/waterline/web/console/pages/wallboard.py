"""The supervisor wallboard (监控大屏): today's calls and service figures, queues, agents' states,
refreshed every few seconds from ``/api/wallboard``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from waterline.domain.users import Permission, User
from waterline.web.console.access import page_user
from waterline.web.console.page import Page
from waterline.web.console.render import render

WALLBOARD = Page(
    "/console/wallboard", "wallboard.nav.title", Permission.AGENTS_SUPERVISE,
    section="nav.section.supervise", order=40, icon="◔",
)
PAGES = (WALLBOARD,)

router = APIRouter(include_in_schema=False)


@router.get(WALLBOARD.path)
def wallboard(request: Request, user: Annotated[User, page_user(WALLBOARD)]) -> HTMLResponse:
    """The wallboard."""
    return render(request, "wallboard/wallboard.html", user=user, page=WALLBOARD)
