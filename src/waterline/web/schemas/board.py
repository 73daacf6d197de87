"""The dispatch board: stations with counts and couriers, orders with map coordinates and lateness."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from waterline.domain.orders import OrderState
from waterline.services.board import Board, BoardOrder, StationColumn
from waterline.web.schemas.courier import CourierOut
from waterline.web.schemas.customer import ContactOut
from waterline.web.schemas.order import OrderOut
from waterline.web.schemas.station import StationOut


class BoardOrderOut(OrderOut):
    """An order on the board: the full order with the contact, ``overdue`` (open and past its ETA or
    window) and where it goes (``lat``/``lon``, the district centre when the address has none)."""

    overdue: bool = False
    lat: float | None = None
    lon: float | None = None

    @classmethod
    def of_board(cls, item: BoardOrder) -> BoardOrderOut:
        """The API view of ``item`` (phones shown: the board is for dispatchers)."""
        contact = (
            ContactOut.of(item.customer, item.address, masked=False) if item.customer is not None else None
        )
        # validated once, as an order; the board's own fields are plain values set afterwards
        out = cls.full(item.order, contact)
        assert isinstance(out, cls)  # ``full`` builds the class it is called on
        out.overdue, out.lat, out.lon = item.overdue, item.lat, item.lon
        return out


class StationColumnOut(BaseModel):
    """A station with its couriers, its orders counted by state and how many are overdue."""

    station: StationOut
    couriers: list[CourierOut]
    counts: dict[OrderState, int]
    overdue: int

    @classmethod
    def of(cls, column: StationColumn) -> StationColumnOut:
        """The API view of ``column``."""
        return cls(
            station=StationOut.of(column.station),
            couriers=[CourierOut.of(c) for c in column.couriers],
            counts={state: column.counts.get(state, 0) for state in OrderState},
            overdue=column.overdue,
        )


class BoardOut(BaseModel):
    """``GET /api/board``: pass ``cursor`` to ``/api/board/changes?after=`` to follow the changes."""

    cursor: int
    at: datetime
    stations: list[StationColumnOut]
    unassigned: dict[OrderState, int]
    orders: list[BoardOrderOut]

    @classmethod
    def of(cls, found: Board) -> BoardOut:
        """The API view of ``found``."""
        return cls(
            cursor=found.cursor,
            at=found.at,
            stations=[StationColumnOut.of(c) for c in found.stations],
            unassigned={state: found.unassigned.get(state, 0) for state in OrderState},
            orders=[BoardOrderOut.of_board(o) for o in found.orders],
        )


class BoardChangesOut(BaseModel):
    """``GET /api/board/changes``: the orders changed after the given cursor, in their current state."""

    cursor: int
    at: datetime
    orders: list[BoardOrderOut]


class ReassignIn(BaseModel):
    """``POST /api/orders/{id}/reassign``: the courier who takes the dispatched order over."""

    courier_id: int
