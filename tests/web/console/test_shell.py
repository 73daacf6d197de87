"""The console shell: login page, home per role, language switch, logout, and the role matrix of
every registered page (each role gets exactly the pages its sidebar lists; the others answer 403)."""

from __future__ import annotations

import re
from collections.abc import Callable

from waterline.domain.users import Role
from waterline.web.console.render import Console

NAV_LINK = re.compile(r'class="wl-nav-link[^"]*" href="([^"]+)"')


def test_home_without_session_is_the_login_page(web) -> None:  # type: ignore[no-untyped-def]
    response = web.client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    page = web.client.get("/login")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    assert "送水热线" in page.text and "用户名" in page.text and "密码" in page.text


def test_the_language_switch_is_remembered_by_the_browser(web) -> None:  # type: ignore[no-untyped-def]
    response = web.client.get("/console/lang?lang=en&next=/login", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert "waterline_lang=en" in response.headers["set-cookie"]
    page = web.client.get("/login")
    assert '<html lang="en">' in page.text and "Username" in page.text
    assert web.client.get("/console/lang?lang=fr").status_code == 422
    # an outside next= is not followed
    response = web.client.get("/console/lang?lang=zh-CN&next=//evil.example", follow_redirects=False)
    assert response.headers["location"] == "/"


def test_a_logged_in_browser_skips_the_login_page(web, log_in: Callable[[str], None]) -> None:  # type: ignore[no-untyped-def]
    log_in("agent")
    response = web.client.get("/login?next=/console/x", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console/x"


def test_logout_ends_the_console_session(web, log_in: Callable[[str], None]) -> None:  # type: ignore[no-untyped-def]
    log_in("owner")
    assert web.client.get("/", follow_redirects=False).headers.get("location") != "/login"
    assert web.client.post("/api/auth/logout").status_code == 204
    assert web.client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_each_role_sees_exactly_its_pages(web, log_in: Callable[[str], None]) -> None:  # type: ignore[no-untyped-def]
    console: Console = web.client.app.state.console
    assert console.pages, "no console page is registered"
    for role in Role:
        log_in(role.value)
        home = web.client.get("/")
        assert home.status_code == 200, role
        listed = set(NAV_LINK.findall(home.text))
        for page in console.pages:
            response = web.client.get(page.path)
            expected = 200 if page.path in listed else 403
            assert response.status_code == expected, (role, page.path)
            assert (page.path in listed) == page.visible_to(web_user(role)), (role, page.path)
        web.client.post("/api/auth/logout")


def web_user(role: Role):  # type: ignore[no-untyped-def]
    from waterline.domain.users import User

    return User(id=0, username=role.value, role=role)
