"""Fixtures of the business store tests: a real unit of work on both databases, and a seeded world."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time

import pytest
from sqlalchemy.orm import Session, sessionmaker

from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.domain.customers import Customer, new_address, new_customer
from waterline.domain.products import Product, ProductKind
from waterline.domain.stations import Courier, Station, daily_hours


@pytest.fixture
def uow_factory(session_factory: sessionmaker[Session]) -> Callable[[], SqlAlchemyUnitOfWork]:
    """Fresh units of work on the migrated database (what the bus is given)."""
    return lambda: SqlAlchemyUnitOfWork(session_factory)


@pytest.fixture
def uow(uow_factory: Callable[[], SqlAlchemyUnitOfWork]) -> SqlAlchemyUnitOfWork:
    """One unit of work on the migrated database."""
    return uow_factory()


def water() -> Product:
    """农夫山泉 18.9 L barrel at 20 yuan."""
    return Product("NFS-189", "农夫山泉 18.9L", "农夫山泉", ProductKind.BARREL, 18900, 2000)


def yanta_station() -> Station:
    """The 雁塔 station in 西安 with real coordinates."""
    return Station(
        "雁塔站",
        "西安市",
        "雁塔区",
        34.2135,
        108.9486,
        ["雁塔区", "曲江新区"],
        "02985550001",
        daily_hours(time(7, 0), time(21, 0)),
    )


def courier_of(station_id: int, name: str = "王师傅", mobile: str = "13991110001") -> Courier:
    """An on-duty courier of ``station_id``."""
    return Courier(station_id, name, mobile, capacity_per_trip=20)


def zhang(phone: str = "13912345678") -> Customer:
    """A customer in 雁塔区 with one mobile and one address."""
    return new_customer(
        "张伟",
        [phone],
        [new_address("西安市", "雁塔区", "科技路 10 号 3 单元 501", floor=5, lat=34.23, lon=108.91)],
    )
