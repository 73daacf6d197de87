"""The agent desktop (客服工作台): state control, the caller's card, one-screen ordering."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from waterline.domain.users import Permission, Role, User
from waterline.web.console.access import page_user
from waterline.web.console.page import Page
from waterline.web.console.render import render
from waterline.web.deps import ServicesDep

DESKTOP = Page(
    "/console/agent",
    "nav.agent.desktop",
    Permission.AGENT_STATE_OWN,
    section="nav.section.service",
    # managers' roles inherit the agents' permissions but have no agent state of their own
    roles=frozenset({Role.AGENT}),
    order=10,
    icon="☎",
)
PAGES = (DESKTOP,)

router = APIRouter(include_in_schema=False)


@router.get(DESKTOP.path)
def desktop(
    request: Request, user: Annotated[User, page_user(DESKTOP)], services: ServicesDep
) -> HTMLResponse:
    """The agent desktop; its script gets the queues (transfer targets, wrap-up length)."""
    queues: list[dict[str, object]] = []
    if services.uow_factory is not None:
        with services.uow_factory() as uow:
            queues = [
                {
                    "name": q.config.name,
                    "purpose": q.purpose.value,
                    "wrap_up_seconds": q.config.wrap_up_seconds,
                }
                for q in uow.queues.all()
            ]
    return render(request, "agent/desktop.html", user=user, page=DESKTOP, client={"queues": queues})
