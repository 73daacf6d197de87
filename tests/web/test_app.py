from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from waterline.adapters.db.engine import create_engine, create_session_factory
from waterline.adapters.db.migrations import upgrade
from waterline.config import ConfigError, Settings
from waterline.web.app import create_app, discover_routers
from waterline.web.deps import AppServices

from .conftest import WebEnv


def test_openapi_lists_the_contract_routes(web: WebEnv) -> None:
    assert web.client.get("/docs").status_code == 200
    paths = web.client.get("/openapi.json").json()["paths"]
    for path in ("/api/auth/token", "/api/auth/login", "/api/auth/logout", "/api/auth/me", "/api/health"):
        assert path in paths


def test_every_route_module_router_is_discovered() -> None:
    prefixes = {router.prefix for router in discover_routers()}
    assert {"/api", "/api/auth", "/api/users"} <= prefixes


def test_the_busiest_routers_are_matched_first() -> None:
    routers = discover_routers()
    assert [router.prefix for router in routers[:2]] == ["/api/orders", "/api/customers"]
    # each router once: the hot ones are moved to the front, not added again
    assert len({id(router) for router in routers}) == len(routers)


def test_app_refuses_settings_without_secret(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with pytest.raises(ConfigError):
        create_app(Settings(data_dir=tmp_path), AppServices(session_factory=create_session_factory(engine)))
    engine.dispose()


def test_background_jobs_run_while_app_is_up_and_are_cancelled(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=SecretStr("x" * 32))
    upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    events: list[str] = []

    async def job() -> None:
        events.append("started")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    services = AppServices(session_factory=create_session_factory(engine), background=[job])
    with TestClient(create_app(settings, services)) as client:
        assert client.get("/api/health").status_code == 200
        assert events == ["started"]
    assert events == ["started", "cancelled"]
    engine.dispose()
