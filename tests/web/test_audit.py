"""The audit trail of the API: successful changes recorded with who, route, ids and the request with
secrets blanked; reads, failures and logins not recorded; the queue written at shutdown."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr

from waterline.adapters.db.audit import AuditFilter, AuditLogRepository
from waterline.adapters.db.engine import create_engine, create_session_factory
from waterline.adapters.db.migrations import upgrade
from waterline.adapters.db.users import UserRepository
from waterline.config import Settings
from waterline.domain.users import Role
from waterline.web.app import create_app
from waterline.web.audit import BLANKED, MAX_SUMMARY, AuditTrail, redact, summarise
from waterline.web.deps import AppServices

from .conftest import FAST_HASHER, SECRET, WebEnv


def entries(web: WebEnv) -> list[object]:
    web.client.app.state.audit.flush()  # type: ignore[attr-defined]
    with web.session_factory() as session:
        return [row.entry for row in AuditLogRepository(session).search(AuditFilter())]


def test_redact_blanks_secrets_at_any_depth() -> None:
    body = {"username": "li", "password": "p", "sip_password": "s", "nested": [{"access_token": "t", "n": 1}]}
    assert redact(body) == {
        "username": "li",
        "password": BLANKED,
        "sip_password": BLANKED,
        "nested": [{"access_token": BLANKED, "n": 1}],
    }


def test_summaries_are_json_without_secrets_or_a_kind_and_size() -> None:
    assert summarise(b'{"name":"\xe5\xbc\xa0\xe4\xbc\x9f","password":"x"}', "application/json") == (
        '{"name":"张伟","password":"***"}'
    )
    assert summarise(b"", "application/json") == ""
    assert summarise(b"{bad", "application/json") == "(invalid JSON, 4 bytes)"
    assert summarise(b"a" * 10, "multipart/form-data; boundary=x") == "(multipart/form-data, 10 bytes)"
    long = summarise(json.dumps({"notes": "长" * 5000}).encode(), "application/json")
    assert len(long) == MAX_SUMMARY and long.endswith("…")


def test_a_successful_change_is_recorded_with_who_and_what(web: WebEnv) -> None:
    owner = web.auth("owner")
    created = web.client.post(
        "/api/users", headers=owner,
        json={"username": "wang", "password": "secret-pass-1", "role": "agent", "display_name": "王"},
    )
    assert created.status_code == 201, created.text
    owner_id = web.client.get("/api/auth/me", headers=owner).json()["id"]
    [entry] = entries(web)
    assert entry.user_id == owner_id  # type: ignore[attr-defined]
    assert (entry.method, entry.path, entry.route, entry.resource, entry.status, entry.role) == (  # type: ignore[attr-defined]
        "POST", "/api/users", "/api/users", "users", 201, "owner",
    )
    summary = json.loads(entry.summary)  # type: ignore[attr-defined]
    assert summary["username"] == "wang" and summary["password"] == BLANKED
    assert "secret-pass-1" not in entry.summary  # type: ignore[attr-defined]


def test_path_ids_are_the_target(web: WebEnv) -> None:
    owner = web.auth("owner")
    user_id = web.client.post(
        "/api/users", headers=owner, json={"username": "zhao", "password": "secret-pass-1", "role": "agent"}
    ).json()["id"]
    changed = web.client.patch(f"/api/users/{user_id}", headers=owner, json={"display_name": "赵"})
    assert changed.status_code == 200, changed.text
    latest = entries(web)[0]
    assert latest.method == "PATCH" and latest.route == "/api/users/{user_id}"  # type: ignore[attr-defined]
    assert latest.target == f"user_id={user_id}"  # type: ignore[attr-defined]


def test_reads_failures_and_logins_are_not_recorded(web: WebEnv) -> None:
    assert web.client.get("/api/users", headers=web.auth("owner")).status_code == 200
    # forbidden, invalid and unauthenticated changes change nothing
    body = {"username": "sun", "password": "secret-pass-1", "role": "agent"}
    assert web.client.post("/api/users", headers=web.auth("agent"), json=body).status_code == 403
    assert web.client.post("/api/users", headers=web.auth("owner"), json={"username": "x"}).status_code == 422
    assert web.client.post("/api/users", json=body).status_code == 401
    login = {"username": "owner", "password": "password-123"}
    assert web.client.post("/api/auth/login", json=login).status_code == 200
    assert entries(web) == []


def test_pending_entries_are_written_when_the_app_stops(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=SecretStr(SECRET))
    upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    factory = create_session_factory(engine)
    with factory() as session:
        UserRepository(session, FAST_HASHER).add("owner", Role.OWNER, "password-123", now=datetime.now(UTC))
        session.commit()
    app = create_app(settings, AppServices(session_factory=factory, hasher=FAST_HASHER))
    trail: AuditTrail = app.state.audit
    trail.interval = 3600.0  # only the shutdown flush can write it
    with TestClient(app) as client:
        token = client.post("/api/auth/token", data={"username": "owner", "password": "password-123"}).json()
        response = client.post(
            "/api/users", headers={"Authorization": f"Bearer {token['access_token']}"},
            json={"username": "qian", "password": "secret-pass-1", "role": "courier"},
        )
        assert response.status_code == 201
        with factory() as session:
            assert AuditLogRepository(session).search(AuditFilter()) == []
    with factory() as session:
        assert [r.entry.path for r in AuditLogRepository(session).search(AuditFilter())] == ["/api/users"]
    engine.dispose()
