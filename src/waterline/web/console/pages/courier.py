"""The courier's view (我的配送), made for a phone: his deliveries in order, call the customer, set
out, deliver with empties collected and tickets used, report a problem."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from waterline.domain.users import Permission, Role, User
from waterline.web.console.access import page_user
from waterline.web.console.page import Page
from waterline.web.console.render import render

DELIVERIES = Page(
    "/console/deliveries", "courier.nav.deliveries", Permission.DELIVERIES_OWN,
    section="nav.section.dispatch", roles=frozenset({Role.COURIER}), order=15, icon="⛟",
)
PAGES = (DELIVERIES,)

router = APIRouter(include_in_schema=False)


@router.get(DELIVERIES.path)
def deliveries(request: Request, user: Annotated[User, page_user(DELIVERIES)]) -> HTMLResponse:
    """The courier's deliveries."""
    return render(request, "courier/deliveries.html", user=user, page=DELIVERIES)
