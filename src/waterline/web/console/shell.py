"""The console's shell: home (each user's first page), login page, language switch, 403 and the
redirect to the login page. Pages themselves live in :mod:`waterline.web.console.pages`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from waterline.domain.users import User
from waterline.web.console.access import (
    LOGIN_PATH,
    LoginRequired,
    PageForbidden,
    login_url,
    safe_next,
    session_user,
)
from waterline.web.console.messages import LANGUAGE_COOKIE, LANGUAGES
from waterline.web.console.page import home_page
from waterline.web.console.render import console_of, render

router = APIRouter(include_in_schema=False)

# A browser's language choice is kept a year.
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600

SessionUser = Annotated[User | None, Depends(session_user)]


@router.get("/")
def home(request: Request, user: SessionUser) -> Response:
    """The logged-in user's home page (his first page), else the login page."""
    if user is None:
        return RedirectResponse(LOGIN_PATH, status_code=303)
    page = home_page(console_of(request).pages, user)
    if page is None:
        return render(request, "shell/empty.html", user=user)
    return RedirectResponse(page.path, status_code=303)


@router.get(LOGIN_PATH)
def login_page(request: Request, user: SessionUser, next: str | None = None) -> Response:
    """The login form; a browser already logged in goes on to ``next`` (or home)."""
    target = safe_next(next)
    if user is not None:
        return RedirectResponse(target, status_code=303)
    return render(request, "shell/login.html", user=None, client={"next": target})


@router.get("/console/lang")
def switch_language(
    lang: Annotated[str, Query(pattern="^(zh-CN|en)$")],
    next: str | None = None,
) -> Response:
    """Remember ``lang`` for this browser and go back to ``next``."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, lang, max_age=LANGUAGE_COOKIE_MAX_AGE, samesite="strict", path="/"
        )
    return response


def login_redirect(_request: Request, exc: Exception) -> Response:
    """Exception handler: a page asked for without a session goes to the login page."""
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(login_url(exc.next_url), status_code=303)


def forbidden_page(request: Request, exc: Exception) -> HTMLResponse:
    """Exception handler: the 403 page, with the user's own navigation."""
    assert isinstance(exc, PageForbidden)
    return render(request, "shell/forbidden.html", user=exc.user, page=None, status_code=403)
