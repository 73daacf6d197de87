"""The console shell in a real browser: log in as each role and see only what the role may."""

from __future__ import annotations

from typing import Any

import pytest

import waterline.web.console.pages as pages_package
from waterline.domain.users import Role, User
from waterline.web.console.page import discover, visible_pages

PAGES = [page for module in discover(pages_package) for page in module.pages]
ROLES = [role.value for role in Role]


def expected_paths(role: str) -> list[str]:
    return [page.path for page in visible_pages(PAGES, User(id=0, username=role, role=Role(role)))]


def sidebar(page: Any) -> list[str]:
    return [str(link.get_attribute("href")) for link in page.locator(".wl-nav-link").all()]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_only_its_pages(console: Any, role: str) -> None:
    page = console.page_as(role)
    expected = expected_paths(role)
    assert sorted(sidebar(page)) == sorted(expected)
    # lands on his first page, with his name and role in the header
    if expected:
        assert page.url.endswith(expected[0])
    assert page.locator("#wl-role").inner_text() == {
        "owner": "老板", "manager": "经理", "dispatcher": "调度", "agent": "客服", "courier": "送水员",
    }[role]
    console.screenshot(page, f"home-{role}")
    # the server refuses the others, whatever the sidebar shows
    for other in PAGES:
        if other.path in expected:
            continue
        response = page.goto(other.path)
        assert response is not None and response.status == 403, other.path
        assert page.locator("#wl-forbidden").is_visible()
    assert page.errors == []


def test_wrong_password_is_refused_in_chinese(console: Any) -> None:
    page = console.new_page()
    page.goto("/login")
    console.screenshot(page, "login")
    page.fill("#login-username", "agent")
    page.fill("#login-password", "not-the-password")
    page.click("#login-submit")
    error = page.locator("#login-error")
    error.wait_for(state="visible")
    assert error.inner_text() == "用户名或密码错误"
    assert "/login" in page.url


def test_a_page_asked_for_before_login_opens_after_it(console: Any) -> None:
    page = console.new_page()
    page.goto("/console/agent")
    assert "/login?next=/console/agent" in page.url
    page.fill("#login-username", "agent")
    page.fill("#login-password", "agent123")
    page.click("#login-submit")
    page.wait_for_url("**/console/agent")


def test_english_is_switchable_and_remembered(console: Any) -> None:
    page = console.page_as("agent")
    page.click("#wl-lang a[lang=en]")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator(".wl-nav-link").first.inner_text().strip().endswith("Agent desktop")
    page.reload()
    assert page.locator("#wl-role").inner_text() == "Agent"
    console.screenshot(page, "home-agent-en")
    page.click("#wl-lang a[lang=zh-CN]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#wl-role").inner_text() == "客服"


def test_logout_returns_to_the_login_page(console: Any) -> None:
    page = console.page_as("dispatcher")
    page.click("#wl-logout")
    page.wait_for_url("**/login")
    page.goto("/")
    assert page.url.endswith("/login")


def test_on_a_phone_the_sidebar_is_a_drawer(console: Any) -> None:
    page = console.page_as("agent", mobile=True)
    sidebar_box = page.locator("#wl-sidebar").bounding_box()
    assert sidebar_box is not None and sidebar_box["x"] + sidebar_box["width"] <= 0
    page.click("#wl-menu-toggle")
    page.wait_for_timeout(300)
    sidebar_box = page.locator("#wl-sidebar").bounding_box()
    assert sidebar_box is not None and sidebar_box["x"] >= 0
    console.screenshot(page, "home-agent-phone-menu", full_page=False)
