"""Page access: no session goes to the login page and back, a role that may not see a page gets 403."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from waterline.domain.users import Permission, Role, User
from waterline.web.console.access import login_url, page_user, safe_next
from waterline.web.console.page import Page
from waterline.web.console.render import render

PROBE = Page("/console/probe", "shell.home", Permission.USERS_MANAGE, order=1)
AGENTS_ONLY = Page(
    "/console/probe-agent", "shell.home", Permission.CALLS_HANDLE, roles=frozenset({Role.AGENT})
)


def install_probes(web) -> None:  # type: ignore[no-untyped-def]
    router = APIRouter()

    @router.get(PROBE.path)
    def probe(request: Request, user: Annotated[User, page_user(PROBE)]) -> HTMLResponse:
        return render(request, "shell/empty.html", user=user, page=PROBE)

    @router.get(AGENTS_ONLY.path)
    def agent_probe(request: Request, user: Annotated[User, page_user(AGENTS_ONLY)]) -> HTMLResponse:
        return render(request, "shell/empty.html", user=user, page=AGENTS_ONLY)

    web.client.app.include_router(router)


def test_next_must_stay_on_this_site() -> None:
    assert safe_next("/console/agent?x=1") == "/console/agent?x=1"
    for bad in (None, "", "https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"):
        assert safe_next(bad) == "/"
    assert login_url("//evil") == "/login?next=/"


def test_a_page_without_session_goes_to_login_and_comes_back(web) -> None:  # type: ignore[no-untyped-def]
    install_probes(web)
    response = web.client.get("/console/probe?day=2026-11-25", follow_redirects=False)
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == ["/console/probe?day=2026-11-25"]


def test_an_invalid_cookie_is_no_session(web) -> None:  # type: ignore[no-untyped-def]
    install_probes(web)
    web.client.cookies.set(web.settings.auth.cookie_name, "v1.forged.token")
    response = web.client.get("/console/probe", follow_redirects=False)
    assert response.status_code == 303


def test_the_server_refuses_a_page_the_role_may_not_see(web, log_in: Callable[[str], None]) -> None:  # type: ignore[no-untyped-def]
    install_probes(web)
    log_in("manager")
    response = web.client.get("/console/probe")
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "没有权限" in response.text and "经理" in response.text
    log_in("owner")
    assert web.client.get("/console/probe").status_code == 200
    # the owner has every permission, yet a page narrowed to agents is not his
    assert web.client.get("/console/probe-agent").status_code == 403
    log_in("agent")
    assert web.client.get("/console/probe-agent").status_code == 200
