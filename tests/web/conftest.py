"""Fixtures of the web tests: an app on a migrated SQLite file with one user per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from waterline.adapters.db.engine import create_engine, create_session_factory
from waterline.adapters.db.migrations import upgrade
from waterline.adapters.db.users import UserRepository
from waterline.config import Settings
from waterline.domain.users import Role
from waterline.web.app import create_app
from waterline.web.deps import AppServices

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
SECRET = "test-secret-0123456789abcdef"
PASSWORD = "password-123"


class FakeClock:
    """A settable clock: ``clock()`` returns ``now``."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class WebEnv:
    """A running app, its client, clock and store."""

    client: TestClient
    clock: FakeClock
    settings: Settings
    session_factory: sessionmaker[Session]

    def token(self, username: str, password: str = PASSWORD) -> str:
        """Log in through the API and return the bearer token."""
        response = self.client.post("/api/auth/token", data={"username": username, "password": password})
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def auth(self, username: str) -> dict[str, str]:
        """Headers authenticating as ``username``."""
        return {"Authorization": f"Bearer {self.token(username)}"}


@pytest.fixture
def web(tmp_path: Path) -> Iterator[WebEnv]:
    """The app on a fresh SQLite store with users owner/manager/dispatcher/agent/courier (PASSWORD)."""
    settings = Settings(data_dir=tmp_path, secret_key=SecretStr(SECRET))
    upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    factory = create_session_factory(engine)
    clock = FakeClock(1_780_000_000.0)
    with factory() as session:
        repo = UserRepository(session, FAST_HASHER)
        for role in Role:
            repo.add(role.value, role, PASSWORD, now=datetime.fromtimestamp(clock.now, UTC))
        session.commit()
    app = create_app(settings, AppServices(session_factory=factory, hasher=FAST_HASHER, clock=clock))
    with TestClient(app) as client:
        yield WebEnv(client=client, clock=clock, settings=settings, session_factory=factory)
    engine.dispose()
