"""The dispatch board (调度看板): orders by state per station, live; dispatch and reassign; the map.

The page's script reads ``/api/board`` once and then follows ``/api/board/changes`` every few
seconds, so an order placed anywhere (an agent, the IVR in the telephony engine) appears without a
reload.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from waterline.domain.users import Permission, User
from waterline.web.console.access import page_user
from waterline.web.console.page import Page
from waterline.web.console.render import render

BOARD = Page(
    "/console/board", "dispatch.nav.board", Permission.ORDERS_DISPATCH, section="nav.section.dispatch",
    order=20, icon="▦",
)
PAGES = (BOARD,)

router = APIRouter(include_in_schema=False)


@router.get(BOARD.path)
def board(request: Request, user: Annotated[User, page_user(BOARD)]) -> HTMLResponse:
    """The dispatch board."""
    return render(request, "dispatch/board.html", user=user, page=BOARD)
