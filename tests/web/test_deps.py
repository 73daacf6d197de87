"""Role checks through the real app: 401 without credentials, 403 for the wrong role, 200 otherwise."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from fakes import FakeClock, FakeStore, FakeUnitOfWork
from waterline.adapters.db.engine import create_engine, create_session_factory
from waterline.adapters.db.users import UserRepository
from waterline.config import Settings
from waterline.domain.users import Role, User
from waterline.services.bus import MessageBus
from waterline.services.context import Dependencies
from waterline.web.app import create_app
from waterline.web.deps import AppServices, BusDep, UowDep, UserCache

from .conftest import WebEnv


def test_no_credentials_is_401_bilingual(web: WebEnv) -> None:
    response = web.client.get("/api/users")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert body["error"] == "auth.required"
    assert "登录" in body["message_zh"] and "Not authenticated" in body["message_en"]


def test_bad_token_is_401(web: WebEnv) -> None:
    response = web.client.get("/api/users", headers={"Authorization": "Bearer v1.forged.token"})
    assert response.status_code == 401


@pytest.mark.parametrize("role", ["agent", "dispatcher", "courier"])
def test_role_without_permission_is_403(web: WebEnv, role: str) -> None:
    response = web.client.get("/api/users", headers=web.auth(role))
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "auth.forbidden"
    assert "users.read" in body["message_en"] and "没有权限" in body["message_zh"]


@pytest.mark.parametrize("role", ["owner", "manager"])
def test_role_with_permission_is_200(web: WebEnv, role: str) -> None:
    response = web.client.get("/api/users", headers=web.auth(role))
    assert response.status_code == 200
    assert {u["username"] for u in response.json()} == {"owner", "manager", "dispatcher", "agent", "courier"}


def test_token_expires_with_the_clock(web: WebEnv) -> None:
    headers = web.auth("owner")
    assert web.client.get("/api/auth/me", headers=headers).status_code == 200
    web.clock.now += web.settings.auth.token_ttl_seconds
    assert web.client.get("/api/auth/me", headers=headers).status_code == 401


def test_disabled_user_token_stops_working(web: WebEnv) -> None:
    agent = web.auth("agent")
    me = web.client.get("/api/auth/me", headers=agent).json()
    response = web.client.patch(f"/api/users/{me['id']}", json={"active": False}, headers=web.auth("owner"))
    assert response.status_code == 200 and response.json()["active"] is False
    assert web.client.get("/api/auth/me", headers=agent).status_code == 401


def test_login_is_cached_briefly_when_the_store_changes_behind_the_app(web: WebEnv) -> None:
    agent = web.auth("agent")
    me = web.client.get("/api/auth/me", headers=agent).json()
    with web.session_factory() as session:  # another process disables him: no invalidate here
        UserRepository(session).set_active(me["id"], False, now=datetime.fromtimestamp(web.clock.now, UTC))
        session.commit()
    assert web.client.get("/api/auth/me", headers=agent).status_code == 200
    web.clock.now += UserCache().ttl
    assert web.client.get("/api/auth/me", headers=agent).status_code == 401


def _user(user_id: int) -> User:
    return User(id=user_id, username=f"u{user_id}", role=Role.AGENT)


def test_user_cache_keeps_a_user_per_token_for_its_ttl() -> None:
    cache = UserCache(ttl=2.0)
    cache.put(_user(1), "t1", now=100.0, generation=cache.generation)
    assert cache.get(1, "t1", now=101.9) == _user(1)
    assert cache.get(1, "other-token", now=101.0) is None
    assert cache.get(2, "t1", now=101.0) is None
    assert cache.get(1, "t1", now=102.0) is None


def test_user_cache_invalidate_forgets_one_user_or_all() -> None:
    cache = UserCache()
    for user_id in (1, 2):
        cache.put(_user(user_id), f"t{user_id}", now=0.0, generation=cache.generation)
    cache.invalidate(1)
    assert cache.get(1, "t1", now=0.0) is None and cache.get(2, "t2", now=0.0) == _user(2)
    cache.invalidate()
    assert cache.get(2, "t2", now=0.0) is None


def test_user_cache_ignores_a_load_that_began_before_an_invalidate() -> None:
    cache = UserCache()
    generation = cache.generation
    cache.invalidate(1)
    cache.put(_user(1), "t1", now=0.0, generation=generation)
    assert cache.get(1, "t1", now=0.0) is None


def test_user_cache_drops_the_oldest_beyond_its_size() -> None:
    cache = UserCache(max_entries=2)
    for user_id in (1, 2, 3):
        cache.put(_user(user_id), f"t{user_id}", now=0.0, generation=cache.generation)
    assert cache.get(1, "t1", now=0.0) is None
    assert cache.get(3, "t3", now=0.0) == _user(3)


def _probe_app(tmp_path: Path, **services: Any) -> TestClient:
    settings = Settings(data_dir=tmp_path, secret_key=SecretStr("probe-secret-0123456789"))
    engine = create_engine(f"sqlite:///{tmp_path / 'probe.sqlite3'}")
    app = create_app(settings, AppServices(session_factory=create_session_factory(engine), **services))

    @app.get("/probe/bus")
    def probe_bus(bus: BusDep) -> str:
        return type(bus).__name__

    @app.get("/probe/uow")
    def probe_uow(uow: UowDep) -> int:
        with uow:
            return len(uow.products.all())

    return TestClient(app)


def test_bus_and_uow_are_503_when_not_configured(tmp_path: Path) -> None:
    client = _probe_app(tmp_path)
    for path in ("/probe/bus", "/probe/uow"):
        response = client.get(path)
        assert response.status_code == 503
        assert response.json()["error"] == "service.unavailable"


def test_bus_and_uow_are_handed_to_routes(tmp_path: Path) -> None:
    store = FakeStore()
    bus = MessageBus(lambda: FakeUnitOfWork(store), Dependencies(clock=FakeClock()))
    client = _probe_app(tmp_path, bus=bus, uow_factory=lambda: FakeUnitOfWork(store))
    assert client.get("/probe/bus").json() == "MessageBus"
    assert client.get("/probe/uow").json() == 0
