"""The stations and products cache behind ``snapshot()``: served without SQL, dropped by this store's
commits that write them, re-read after its time-to-live for other processes' writes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from waterline.adapters.db.engine import create_session_factory
from waterline.adapters.db.reference import ReferenceCache
from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork

from .conftest import water, yanta_station


class Ticker:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Ticker:
    return Ticker()


@pytest.fixture
def cached(
    session_factory: sessionmaker[Session], clock: Ticker
) -> Callable[[], SqlAlchemyUnitOfWork]:
    """Units of work sharing one cache (as ``bootstrap.uow_factory`` builds them), seeded."""
    reference = ReferenceCache(session_factory, ttl=5.0, clock=clock)
    with SqlAlchemyUnitOfWork(session_factory) as uow:
        uow.stations.add(yanta_station())
        uow.products.add(water())
        uow.commit()
    return lambda: SqlAlchemyUnitOfWork(session_factory, reference)


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements sent to ``engine`` inside the block."""
    sent: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_second_snapshot_sends_no_sql(
    cached: Callable[[], SqlAlchemyUnitOfWork], db_engine: Engine
) -> None:
    with cached() as uow:
        first = uow.stations.snapshot()
        products = uow.products.snapshot()
    with statements(db_engine) as sent, cached() as uow:
        assert uow.stations.snapshot() == first
        assert uow.products.snapshot() == products
    assert sent == []
    assert [s.name for s in first] == ["雁塔站"]
    assert [p.sku for p in products.values()] == ["NFS-189"]


def test_a_committed_edit_shows_at_once(cached: Callable[[], SqlAlchemyUnitOfWork]) -> None:
    with cached() as uow:
        (station,) = uow.stations.snapshot()
        (product,) = uow.products.snapshot().values()
    with cached() as uow:
        assert station.id is not None and product.id is not None
        stored = uow.stations.get(station.id)
        priced = uow.products.get(product.id)
        assert stored is not None and priced is not None
        stored.name = "雁塔小寨站"
        priced.price_fen = 2200
        uow.commit()
    with cached() as uow:
        assert [s.name for s in uow.stations.snapshot()] == ["雁塔小寨站"]
        assert [p.price_fen for p in uow.products.snapshot().values()] == [2200]


def test_a_new_station_shows_at_once(cached: Callable[[], SqlAlchemyUnitOfWork]) -> None:
    with cached() as uow:
        assert len(uow.stations.snapshot()) == 1
    with cached() as uow:
        uow.stations.add(yanta_station())
        uow.commit()
    with cached() as uow:
        assert len(uow.stations.snapshot()) == 2


def test_an_edit_rolled_back_leaves_the_copies(cached: Callable[[], SqlAlchemyUnitOfWork]) -> None:
    with cached() as uow:
        (station,) = uow.stations.snapshot()
    with cached() as uow:
        assert station.id is not None
        stored = uow.stations.get(station.id)
        assert stored is not None
        stored.name = "未保存"
        uow.flush()
        # the writing transaction sees its own change...
        assert [s.name for s in uow.stations.snapshot()] == ["未保存"]
    # ...and nobody else does, before or after its rollback
    with cached() as uow:
        assert [s.name for s in uow.stations.snapshot()] == ["雁塔站"]


def test_another_process_edit_shows_after_the_ttl(
    cached: Callable[[], SqlAlchemyUnitOfWork], db_engine: Engine, clock: Ticker
) -> None:
    with cached() as uow:
        (station,) = uow.stations.snapshot()
    # a session factory of its own stands for another process on the same database
    with SqlAlchemyUnitOfWork(create_session_factory(db_engine)) as other:
        assert station.id is not None
        stored = other.stations.get(station.id)
        assert stored is not None
        stored.active = False
        other.commit()
    clock.now += 4.9
    with cached() as uow:
        assert [s.active for s in uow.stations.snapshot()] == [True]
    clock.now += 0.2
    with cached() as uow:
        assert [s.active for s in uow.stations.snapshot()] == [False]


def test_changing_a_copy_changes_nothing(cached: Callable[[], SqlAlchemyUnitOfWork]) -> None:
    with cached() as uow:
        (station,) = uow.stations.snapshot()
        station.name = "改了副本"
        uow.commit()
    with cached() as uow:
        assert station.id is not None
        stored = uow.stations.get(station.id)
        assert stored is not None and stored.name == "雁塔站"
