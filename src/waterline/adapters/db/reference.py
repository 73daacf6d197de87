"""Reference data read on every order but changed a few times a year: stations and products.

Dispatch reads every station and pricing reads the ordered products for each placement; through the
ORM that was a fifth of an order's CPU. ``ReferenceCache`` keeps read-only copies per store, built
from plain Core rows, and serves them to the repositories' ``snapshot()`` methods:

- a commit through the store's session factory that wrote a station or a product (any ORM insert,
  update or delete of one) drops the copies at once, so this process never serves data older than
  its own last commit;
- writes by another process (a second web worker, the telephony engine) are seen within ``ttl``
  seconds, after which the copies are read again.

The copies are never attached to a session: changing one changes nothing in the store. Edits go
through ``get``/``all`` as before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from types import MappingProxyType
from typing import Any

from sqlalchemy import Select, event, select
from sqlalchemy.orm import Session, object_session, sessionmaker

from waterline.adapters.db.orm import products_table, stations_table
from waterline.domain.products import Product
from waterline.domain.stations import Station

# session.info key: this transaction wrote a station or a product
CHANGED = "waterline.reference_changed"
# how long copies are served before they are read again (another process's edits show up by then)
DEFAULT_TTL_SECONDS = 5.0

_watching = False
_watch_lock = threading.Lock()


def _mark_changed(_mapper: Any, _connection: Any, target: object) -> None:
    session = object_session(target)
    if session is not None:
        session.info[CHANGED] = True


def _watch_writes() -> None:
    """Flag the session of every ORM write of a station or product (registered once per process:
    mapper events are per class, and the flag lives in the writing session, not here)."""
    global _watching
    with _watch_lock:
        if _watching:
            return
        for cls in (Station, Product):
            for name in ("after_insert", "after_update", "after_delete"):
                event.listen(cls, name, _mark_changed)
        _watching = True


class ReferenceCache:
    """Read-only copies of the stations and products of one store (see the module docstring).

    Safe to share between threads. ``clock`` is monotonic seconds.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        ttl: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        # bumped by every invalidation, so a read that began before a change is not kept
        self._generation = 0
        self._stations: tuple[tuple[Station, ...], float] | None = None
        self._products: tuple[Mapping[int, Product], float] | None = None
        _watch_writes()
        event.listen(session_factory, "after_commit", self._after_commit)
        event.listen(session_factory, "after_soft_rollback", self._after_rollback)

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(CHANGED, False):
            self.invalidate()

    @staticmethod
    def _after_rollback(session: Session, _previous: Any) -> None:
        session.info.pop(CHANGED, None)

    def invalidate(self) -> None:
        """Drop the copies; the next ``stations``/``products`` reads the store again."""
        with self._lock:
            self._generation += 1
            self._stations = None
            self._products = None

    def stations(self, session: Session) -> Sequence[Station]:
        """Every station by id; read with ``session`` when the copies are missing or stale."""
        if session.info.get(CHANGED):
            return read_stations(session)  # this transaction's own writes, not yet committed
        now = self._clock()
        held = self._stations
        if held is not None and now < held[1]:
            return held[0]
        generation = self._generation
        stations = read_stations(session)
        with self._lock:
            if generation == self._generation:
                self._stations = (stations, now + self.ttl)
        return stations

    def products(self, session: Session) -> Mapping[int, Product]:
        """Every product by id; read with ``session`` when the copies are missing or stale."""
        if session.info.get(CHANGED):
            return read_products(session)  # this transaction's own writes, not yet committed
        now = self._clock()
        held = self._products
        if held is not None and now < held[1]:
            return held[0]
        generation = self._generation
        products = read_products(session)
        with self._lock:
            if generation == self._generation:
                self._products = (products, now + self.ttl)
        return products


def read_stations(session: Session) -> tuple[Station, ...]:
    """Every station by id, as new objects that belong to no session (one Core SELECT)."""
    rows = session.execute(_all_stations()).mappings()
    return tuple(
        Station(
            name=row["name"],
            city=row["city"],
            district=row["district"],
            lat=row["lat"],
            lon=row["lon"],
            service_districts=list(row["service_districts"]),
            phone=row["phone"],
            hours=list(row["hours"]),
            active=row["active"],
            id=row["id"],
        )
        for row in rows
    )


def read_products(session: Session) -> Mapping[int, Product]:
    """Every product by id, as new objects that belong to no session (one Core SELECT)."""
    rows = session.execute(_all_products()).mappings()
    return MappingProxyType({
        row["id"]: Product(
            sku=row["sku"],
            name=row["name"],
            brand=row["brand"],
            kind=row["kind"],
            volume_ml=row["volume_ml"],
            price_fen=row["price_fen"],
            active=row["active"],
            id=row["id"],
        )
        for row in rows
    })


@cache
def _all_stations() -> Select[Any]:
    return select(stations_table).order_by(stations_table.c.id)


@cache
def _all_products() -> Select[Any]:
    return select(products_table).order_by(products_table.c.id)
