"""The business routes hand the login query's connection back before opening their unit of work."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from waterline.adapters.db.migrations import upgrade
from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.adapters.db.users import UserRepository
from waterline.config import Settings
from waterline.domain.users import Role
from waterline.services.bus import MessageBus
from waterline.services.context import Dependencies
from waterline.services.ports import UnitOfWork
from waterline.web.app import create_app
from waterline.web.deps import AppServices

from .conftest import FAST_HASHER, PASSWORD, START, ShopClock


def test_a_request_needs_only_one_pooled_connection_at_a_time(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'one.sqlite3'}"
    upgrade(url)
    # one connection, no overflow, short wait: a route holding the login's connection while it
    # opens a unit of work would time out here
    engine = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=2)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session:
        UserRepository(session, FAST_HASHER).add("agent", Role.AGENT, PASSWORD, now=START)
        session.commit()

    def uow_factory() -> UnitOfWork:
        return SqlAlchemyUnitOfWork(factory)

    clock = ShopClock(START)
    services = AppServices(
        session_factory=factory,
        hasher=FAST_HASHER,
        clock=clock,
        bus=MessageBus(uow_factory, Dependencies(clock=clock)),
        uow_factory=uow_factory,
    )
    app = create_app(Settings(data_dir=tmp_path, db=url, secret_key=SecretStr("s" * 32)), services)
    with TestClient(app) as client:
        token = client.post("/api/auth/token", data={"username": "agent", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        created = client.post(
            "/api/customers", headers=headers, json={"name": "张伟", "phones": ["13912345678"]}
        )
        listed = client.get("/api/products", headers=headers)
        looked_up = client.get("/api/customers/lookup", headers=headers, params={"phone": "13912345678"})

    assert created.status_code == 201, created.text
    assert listed.status_code == 200 and looked_up.status_code == 200
    engine.dispose()
