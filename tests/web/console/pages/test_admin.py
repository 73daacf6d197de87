"""The administration pages: each opens for the roles its permission allows (403 otherwise, the
login page without a session) and tells its script which actions the user may take."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from waterline.domain.users import Role, allowed
from waterline.web.console.pages.admin import ACTIONS, PAGES

CLIENT = re.compile(r'<script id="wl-client" type="application/json">(.*?)</script>', re.S)


def _client_data(html: str) -> dict[str, Any]:
    found = CLIENT.search(html)
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


@pytest.mark.parametrize("role", list(Role))
def test_each_role_opens_exactly_the_admin_pages_it_may(
    web: Any, log_in: Callable[[str], None], role: Role
) -> None:
    log_in(role.value)
    for page in PAGES:
        response = web.client.get(page.path, follow_redirects=False)
        if not allowed(role, page.permission):
            assert response.status_code == 403, (role, page.path)
            continue
        assert response.status_code == 200, (role, page.path)
        slug = page.path.rsplit("/", 1)[-1]
        assert f'src="/console/static/admin/{slug}.js"' in response.text
        may = _client_data(response.text)["may"]
        assert may == [p.value for p in ACTIONS[slug] if allowed(role, p)]


def test_only_the_owner_may_edit_flows_the_manager_reads_them(
    web: Any, log_in: Callable[[str], None]
) -> None:
    log_in("manager")
    manager = _client_data(web.client.get("/console/admin/flows").text)
    assert manager["may"] == []
    log_in("owner")
    owner = _client_data(web.client.get("/console/admin/flows").text)
    assert owner["may"] == ["flows.manage"]


def test_without_a_session_the_pages_send_to_the_login(web: Any) -> None:
    for page in PAGES:
        response = web.client.get(page.path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def test_every_page_has_its_script_and_title() -> None:
    from waterline.web.console.messages import load_catalogues
    from waterline.web.console.render import STATIC_DIR

    catalogue = load_catalogues()["zh-CN"]
    for page in PAGES:
        slug = page.path.rsplit("/", 1)[-1]
        assert (STATIC_DIR / "admin" / f"{slug}.js").is_file(), slug
        assert page.title in catalogue and page.section in catalogue


def test_names_the_scripts_build_at_run_time_are_in_the_catalogue() -> None:
    from typing import get_args

    from waterline.calls.flow import Node
    from waterline.calls.queue import Strategy
    from waterline.domain.agents import QueuePurpose
    from waterline.domain.products import ProductKind
    from waterline.web.console.messages import load_catalogues

    node_types = get_args(get_args(Node)[0])
    kinds = [get_args(cls.model_fields["kind"].annotation)[0] for cls in node_types]
    assert "menu" in kinds and len(kinds) == len(node_types)
    wanted = (
        [f"admin.flows.kind.{k}" for k in kinds]
        + [f"admin.products.kind.{k.value}" for k in ProductKind]
        + [f"admin.users.role_help.{r.value}" for r in Role]
        + [f"admin.queues.purpose.{p.value}" for p in QueuePurpose]
        + [f"admin.queues.strategy.{s.value}" for s in Strategy]
        + [f"admin.weekday.{d}" for d in range(8)]
    )
    for catalogue in load_catalogues().values():
        assert [key for key in wanted if key not in catalogue] == []
