"""The administration pages (系统管理): users, stations, couriers, products, queues, 400 numbers,
the flow editor, prompts and holiday overrides.

Each page is a shell (``templates/admin/page.html``) whose ES module (``static/admin/<page>.js``)
works the REST API; the server only decides who may open which page. A page also tells its script
which of the user's permissions matter (``client.may``), so a manager sees the flows he may read
without the buttons only the owner may use (the API refuses them anyway).
"""

# No ``from __future__ import annotations``: FastAPI reads the handlers' annotations, which name the
# closure's ``page``, when they are defined.
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from waterline.domain.users import Permission, User
from waterline.web.console.access import page_user
from waterline.web.console.page import Page
from waterline.web.console.render import render

SECTION = "nav.section.admin"
_P = Permission


def _page(slug: str, permission: Permission, order: int, icon: str) -> Page:
    return Page(f"/console/admin/{slug}", f"admin.nav.{slug}", permission, section=SECTION, order=order,
                icon=icon)


USERS = _page("users", _P.USERS_READ, 900, "☺")
STATIONS = _page("stations", _P.STATIONS_WRITE, 910, "⌂")
COURIERS = _page("couriers", _P.COURIERS_WRITE, 920, "⛟")
PRODUCTS = _page("products", _P.PRODUCTS_WRITE, 930, "¥")
QUEUES = _page("queues", _P.QUEUES_READ, 940, "☰")
NUMBERS = _page("numbers", _P.FLOWS_READ, 950, "☎")
FLOWS = _page("flows", _P.FLOWS_READ, 960, "⇶")
PROMPTS = _page("prompts", _P.PROMPTS_MANAGE, 970, "♪")
HOLIDAYS = _page("holidays", _P.CALENDAR_MANAGE, 980, "☷")

PAGES = (USERS, STATIONS, COURIERS, PRODUCTS, QUEUES, NUMBERS, FLOWS, PROMPTS, HOLIDAYS)

# What each page's script may offer beyond looking (the API checks the same permissions).
ACTIONS: dict[str, tuple[Permission, ...]] = {
    "users": (_P.USERS_MANAGE,),
    "stations": (_P.STATIONS_WRITE,),
    "couriers": (_P.COURIERS_WRITE,),
    "products": (_P.PRODUCTS_WRITE,),
    "queues": (_P.QUEUES_MANAGE,),
    "numbers": (_P.FLOWS_MANAGE,),
    "flows": (_P.FLOWS_MANAGE,),
    "prompts": (_P.PROMPTS_MANAGE,),
    "holidays": (_P.CALENDAR_MANAGE,),
}

router = APIRouter(include_in_schema=False)


def _slug(page: Page) -> str:
    return page.path.rsplit("/", 1)[-1]


def _handler(page: Page) -> Callable[..., HTMLResponse]:
    slug = _slug(page)

    def show(request: Request, user: Annotated[User, page_user(page)]) -> HTMLResponse:
        may = [p.value for p in ACTIONS[slug] if user.may(p)]
        return render(request, "admin/page.html", user=user, page=page, script=f"admin/{slug}.js",
                      client={"may": may})

    show.__name__ = f"admin_{slug}"
    return show


for _each in PAGES:
    router.add_api_route(_each.path, _handler(_each), methods=["GET"], response_class=HTMLResponse)
