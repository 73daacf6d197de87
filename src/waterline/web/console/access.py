"""Who may open a console page: the session cookie's user and the page's rule.

``user: Annotated[User, page_user(PAGE)]`` in a page handler gives the logged-in user, sends a
browser without a valid session to the login page (303, coming back afterwards) and answers 403
with a page of its own when the user's role may not see ``PAGE``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request

from waterline.domain.users import User
from waterline.web.console.page import Page
from waterline.web.deps import ServicesDep, SettingsDep, current_user
from waterline.web.errors import ApiError

LOGIN_PATH = "/login"


class LoginRequired(Exception):
    """The browser has no valid session; it goes to the login page and back to ``next_url``."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PageForbidden(Exception):
    """The user is logged in but his role may not see ``page``."""

    def __init__(self, user: User, page: Page) -> None:
        super().__init__(page.path)
        self.user = user
        self.page = page


def safe_next(url: str | None) -> str:
    """``url`` if it is a path on this site, else ``/`` (no open redirect through ``?next=``)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    return url


def login_url(next_url: str) -> str:
    """The login page, coming back to ``next_url`` afterwards."""
    return f"{LOGIN_PATH}?next={quote(safe_next(next_url), safe='/')}"


async def session_user(request: Request, settings: SettingsDep, services: ServicesDep) -> User | None:
    """The user of the session cookie (or bearer header), or None when there is none or it is invalid."""
    try:
        return await current_user(request, settings, services, None)
    except ApiError:
        return None


def page_user(page: Page) -> Any:
    """A dependency giving the user allowed to see ``page`` (see the module docstring)."""

    async def check(request: Request, settings: SettingsDep, services: ServicesDep) -> User:
        user = await session_user(request, settings, services)
        if user is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(target)
        if not page.visible_to(user):
            raise PageForbidden(user, page)
        return user

    return Depends(check)
