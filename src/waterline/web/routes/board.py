"""The dispatch board (orders.dispatch): a snapshot of every open order and today's finished ones per
station, the changes since a cursor (the console polls it every few seconds, so new orders appear
without a reload, whichever process placed them), and reassigning a dispatched order (改派)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from waterline.adapters.db.board import SqlOrderChangeFeed
from waterline.domain.commands import ReassignOrder
from waterline.domain.orders import Order
from waterline.domain.users import Permission, User
from waterline.services.board import board, changes
from waterline.web.deps import BusDep, ServicesDep, SessionDep, UowDep
from waterline.web.routes.access import authorised
from waterline.web.schemas.board import BoardChangesOut, BoardOrderOut, BoardOut, ReassignIn
from waterline.web.schemas.customer import ContactOut
from waterline.web.schemas.order import OrderOut

router = APIRouter(tags=["board"])

StationQuery = Annotated[int | None, Query(description="只看某站 / one station only")]


@router.get("/api/board")
def get_board(
    _user: Annotated[User, authorised(Permission.ORDERS_DISPATCH)],
    uow: UowDep,
    session: SessionDep,
    services: ServicesDep,
    station_id: StationQuery = None,
) -> BoardOut:
    """Every open order and today's delivered and cancelled ones, the stations with their couriers and
    counts by state; ``overdue`` marks open orders past their ETA (or window)."""
    now = datetime.fromtimestamp(services.clock(), UTC)
    return BoardOut.of(board(uow, SqlOrderChangeFeed(session), now, station_id))


@router.get("/api/board/changes")
def board_changes(
    _user: Annotated[User, authorised(Permission.ORDERS_DISPATCH)],
    uow: UowDep,
    session: SessionDep,
    services: ServicesDep,
    after: Annotated[int, Query(ge=0, description="上次的游标 / the cursor seen last")],
    station_id: StationQuery = None,
) -> BoardChangesOut:
    """Orders changed after the cursor ``after`` (and any changed in the last seconds, against late
    commits), with the new cursor. A cursor lower than ``after`` means: reload ``/api/board``."""
    now = datetime.fromtimestamp(services.clock(), UTC)
    cursor, changed = changes(uow, SqlOrderChangeFeed(session), after, now, station_id)
    return BoardChangesOut(cursor=cursor, at=now, orders=[BoardOrderOut.of_board(o) for o in changed])


@router.post(
    "/api/orders/{order_id}/reassign",
    responses={409: {"description": "不是已派单状态 / not dispatched"}, 404: {"description": "未找到"}},
)
def reassign_order(
    order_id: int,
    body: ReassignIn,
    user: Annotated[User, authorised(Permission.ORDERS_DISPATCH)],
    uow: UowDep,
    bus: BusDep,
) -> OrderOut:
    """Give a dispatched order to another courier (改派); the customer gets an SMS naming him."""
    command = ReassignOrder(order_id=order_id, courier_id=body.courier_id, by=str(user.id))
    order: Order = bus.handle(command)
    with uow:
        customer = uow.customers.get(order.customer_id)
        address = customer.address_by_id(order.address_id) if customer is not None else None
        contact = ContactOut.of(customer, address, masked=False) if customer is not None else None
    return OrderOut.full(order, contact)
