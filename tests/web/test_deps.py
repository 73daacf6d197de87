"""Role checks through the real app: 401 without credentials, 403 for the wrong role, 200 otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from fakes import FakeClock, FakeStore, FakeUnitOfWork
from waterline.adapters.db.engine import create_engine, create_session_factory
from waterline.config import Settings
from waterline.services.bus import MessageBus
from waterline.services.context import Dependencies
from waterline.web.app import create_app
from waterline.web.deps import AppServices, BusDep, UowDep

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
