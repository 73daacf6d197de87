"""The call log (通话记录): search the CDRs, see the path a call took through the flow, play and
download its recording (the recording routes refuse roles without ``recordings.read``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from waterline.domain.users import Permission, User
from waterline.web.console.access import page_user
from waterline.web.console.page import Page
from waterline.web.console.render import render

CALLS = Page(
    "/console/calls", "calls.nav.title", Permission.CALLS_READ, section="nav.section.supervise",
    order=45, icon="☏",
)
PAGES = (CALLS,)

router = APIRouter(include_in_schema=False)


@router.get(CALLS.path)
def calls(request: Request, user: Annotated[User, page_user(CALLS)]) -> HTMLResponse:
    """The call log."""
    may_listen = user.may(Permission.RECORDINGS_READ)
    return render(request, "calls/calls.html", user=user, page=CALLS, client={"may_listen": may_listen})
