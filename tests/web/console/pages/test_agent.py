"""The agent desktop page: agents only; its script gets the queues (transfer targets, wrap-up)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

CLIENT = re.compile(r'<script id="wl-client" type="application/json">(.*?)</script>', re.S)


def test_the_desktop_is_for_agents(web, log_in: Callable[[str], None]) -> None:  # type: ignore[no-untyped-def]
    log_in("agent")
    page = web.client.get("/console/agent")
    assert page.status_code == 200
    assert "坐席工作台" in page.text and 'src="/console/static/agent/desktop.js"' in page.text
    embedded = CLIENT.search(page.text)
    assert embedded is not None
    data = json.loads(embedded.group(1))
    assert data["user"]["role"] == "agent" and data["queues"] == []
    for role in ("owner", "manager", "dispatcher", "courier"):
        log_in(role)
        assert web.client.get("/console/agent").status_code == 403, role
