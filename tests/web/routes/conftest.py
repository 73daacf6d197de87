"""Fixtures of the business route tests: the whole app (bus, units of work, auth) on a migrated store
(SQLite, and PostgreSQL through the root ``migrated_db_url`` parameter), with one user per role and a
small Shaanxi world: products, three stations, couriers (one linked to the ``courier`` login)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from pydantic import SecretStr

from waterline.adapters.db.engine import create_engine, create_session_factory
from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.adapters.db.users import UserRepository
from waterline.config import Settings
from waterline.domain.products import Product, ProductKind
from waterline.domain.stations import Courier, Station, daily_hours
from waterline.domain.users import Role
from waterline.services.bus import MessageBus
from waterline.services.context import Dependencies
from waterline.services.ports import UnitOfWork
from waterline.web.app import create_app
from waterline.web.deps import AppServices

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
SECRET = "test-secret-for-business-routes"
PASSWORD = "password-123"
START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Xi'an: every station is open


class ShopClock:
    """One settable clock for both sides: ``now()`` (service layer) and ``clock()`` (auth tokens)."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def __call__(self) -> float:
        return self.current.timestamp()

    def advance(self, minutes: float) -> None:
        self.current += timedelta(minutes=minutes)


@dataclass
class Shop:
    """The running app, its clock and the ids of the seeded world."""

    client: TestClient
    clock: ShopClock
    uow_factory: Any
    ids: dict[str, int]
    users: dict[str, int]
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, username: str) -> dict[str, str]:
        """Headers of a logged-in ``username`` (one of the role names)."""
        if username not in self.tokens:
            response = self.client.post("/api/auth/token", data={"username": username, "password": PASSWORD})
            assert response.status_code == 200, response.text
            self.tokens[username] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def get(self, url: str, as_user: str = "owner", **params: Any) -> Any:
        """GET as ``as_user``; returns the response."""
        return self.client.get(url, headers=self.auth(as_user), params=params)

    def post(self, url: str, body: Any, as_user: str = "owner") -> Any:
        """POST JSON as ``as_user``; returns the response."""
        return self.client.post(url, headers=self.auth(as_user), json=body)

    def customer(self, phone: str = "13912345678", district: str = "雁塔区", **extra: Any) -> dict[str, Any]:
        """Create a customer in 西安 through the API (as an agent) and return its JSON."""
        body = {
            "name": extra.pop("name", "张伟"),
            "phones": [phone],
            "addresses": [
                {"city": "西安市", "district": district, "detail": "科技路10号3单元501", "floor": 5}
            ],
            **extra,
        }
        response = self.post("/api/customers", body, as_user="agent")
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def order(self, customer_id: int, quantity: int = 2, **extra: Any) -> dict[str, Any]:
        """Place an order of the main water through the API (as an agent) and return its JSON."""
        body = {
            "customer_id": customer_id,
            "items": [{"product_id": self.ids["water"], "quantity": quantity}],
            "channel": "agent",
            **extra,
        }
        response = self.post("/api/orders", body, as_user="agent")
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result


def _seed(uow: UnitOfWork, courier_user_id: int) -> dict[str, int]:
    hours = daily_hours(time(7, 0), time(21, 0))
    with uow:
        water = uow.products.add(
            Product("NFS-189", "农夫山泉 18.9L", "农夫山泉", ProductKind.BARREL, 18900, 2000)
        )
        other = uow.products.add(Product("YB-189", "怡宝 18.9L", "怡宝", ProductKind.BARREL, 18900, 2200))
        dispenser = uow.products.add(Product("MD-1", "美的饮水机", "美的", ProductKind.DISPENSER, 0, 39900))
        yanta = uow.stations.add(
            Station(
                "雁塔站", "西安市", "雁塔区", 34.2135, 108.9486, ["雁塔区", "曲江新区"], "02985550001", hours
            )
        )
        weiyang = uow.stations.add(
            Station(
                "未央站", "西安市", "未央区", 34.3098, 108.9468, ["未央区", "经开区"], "02985550002", hours
            )
        )
        xianyang = uow.stations.add(
            Station(
                "秦都站", "咸阳市", "秦都区", 34.3297, 108.7064, ["秦都区", "渭城区"], "02933330001", hours
            )
        )
        assert yanta.id and weiyang.id and xianyang.id
        wang = uow.couriers.add(
            Courier(yanta.id, "王师傅", "13991110001", capacity_per_trip=20, user_id=courier_user_id)
        )
        zhao = uow.couriers.add(Courier(weiyang.id, "赵师傅", "13991110003", capacity_per_trip=20))
        uow.commit()
    ids = {
        "water": water.id,
        "other": other.id,
        "dispenser": dispenser.id,
        "yanta": yanta.id,
        "weiyang": weiyang.id,
        "xianyang": xianyang.id,
        "wang": wang.id,
        "zhao": zhao.id,
    }
    assert all(v is not None for v in ids.values())
    return {k: v for k, v in ids.items() if v is not None}


@pytest.fixture
def shop(migrated_db_url: str, tmp_path: Path) -> Iterator[Shop]:
    """The app on a migrated store with users owner/manager/dispatcher/agent/courier and a seeded world."""
    settings = Settings(data_dir=tmp_path, db=migrated_db_url, secret_key=SecretStr(SECRET))
    engine = create_engine(migrated_db_url)
    factory = create_session_factory(engine)
    clock = ShopClock(START)
    users: dict[str, int] = {}
    with factory() as session:
        repo = UserRepository(session, FAST_HASHER)
        for role in Role:
            users[role.value] = repo.add(role.value, role, PASSWORD, now=START).id
        repo.add("courier2", Role.COURIER, PASSWORD, now=START)  # a courier login without deliveries
        session.commit()

    def uow_factory() -> UnitOfWork:
        return SqlAlchemyUnitOfWork(factory)

    ids = _seed(uow_factory(), users["courier"])
    bus = MessageBus(uow_factory, Dependencies(clock=clock))
    services = AppServices(
        session_factory=factory, hasher=FAST_HASHER, clock=clock, bus=bus, uow_factory=uow_factory
    )
    app = create_app(settings, services)
    with TestClient(app) as client:
        yield Shop(client=client, clock=clock, uow_factory=uow_factory, ids=ids, users=users)
    engine.dispose()
