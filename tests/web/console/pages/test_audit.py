"""The audit log page: managers and the owner only."""

from __future__ import annotations

from collections.abc import Callable


def test_the_audit_page_is_for_managers_and_the_owner(web, log_in: Callable[[str], None]) -> None:  # type: ignore[no-untyped-def]
    expected = {"owner": 200, "manager": 200, "dispatcher": 403, "agent": 403, "courier": 403}
    for role, status in expected.items():
        log_in(role)
        page = web.client.get("/console/audit")
        assert page.status_code == status, role
        if status == 200:
            assert "操作日志" in page.text and 'src="/console/static/audit/log.js"' in page.text
