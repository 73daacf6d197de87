"""The operations pages (dispatch board, courier view, wallboard, call log): who may open them,
what the sidebar shows, and that each page loads its own script and texts."""

from __future__ import annotations

from collections.abc import Callable

import pytest

ALLOWED = {
    "/console/board": {"dispatcher", "manager", "owner"},
    "/console/deliveries": {"courier"},
    "/console/wallboard": {"dispatcher", "manager", "owner"},
    "/console/calls": {"dispatcher", "manager", "owner"},
}
SCRIPTS = {
    "/console/board": "dispatch/board.js",
    "/console/deliveries": "courier/deliveries.js",
    "/console/wallboard": "wallboard/wallboard.js",
    "/console/calls": "calls/calls.js",
}
ROLES = ("owner", "manager", "dispatcher", "agent", "courier")


@pytest.mark.parametrize("path", sorted(ALLOWED))
def test_only_the_roles_of_a_page_open_it(web, log_in: Callable[[str], None], path: str) -> None:  # type: ignore[no-untyped-def]
    assert web.client.get(path, follow_redirects=False).status_code == 303  # no session: log in first
    for role in ROLES:
        web.client.cookies.clear()
        log_in(role)
        response = web.client.get(path, follow_redirects=False)
        if role in ALLOWED[path]:
            assert response.status_code == 200, (role, path)
            assert SCRIPTS[path] in response.text
            assert f'href="{path}"' in response.text  # the sidebar links it
        else:
            assert response.status_code == 403, (role, path)


def test_a_courier_sees_only_his_deliveries(web, log_in: Callable[[str], None]) -> None:  # type: ignore[no-untyped-def]
    log_in("courier")
    page = web.client.get("/console/deliveries")
    assert [path for path in ALLOWED if f'href="{path}"' in page.text] == ["/console/deliveries"]


def test_the_wallboard_loads_echarts_from_this_server(web, log_in: Callable[[str], None]) -> None:  # type: ignore[no-untyped-def]
    log_in("manager")
    page = web.client.get("/console/wallboard")
    assert '<script src="/console/vendor/echarts/dist/echarts.min.js"></script>' in page.text
    assert "监控大屏" in page.text


def test_the_call_log_tells_its_script_recordings_may_play(web, log_in: Callable[[str], None]) -> None:  # type: ignore[no-untyped-def]
    log_in("dispatcher")
    assert '"may_listen": true' in web.client.get("/console/calls").text
