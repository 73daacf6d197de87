"""Orders: place (orders.create), read and filter (orders.read), dispatch (orders.dispatch), move along
the state machine (orders.transition; cancel also with orders.cancel).

A courier (deliveries.own) sees only the orders assigned to him, and a customer's phones only while
the order is with him (dispatched or delivering); he may move his own orders to delivering/delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from waterline.domain.commands import DispatchOrder, PlaceOrder, TransitionOrder
from waterline.domain.customers import Customer
from waterline.domain.errors import InvalidInput, NotFound
from waterline.domain.orders import SHANGHAI, WITH_COURIER, Order, OrderState
from waterline.domain.users import Permission, User
from waterline.services.ports import OrderFilter, UnitOfWork
from waterline.web.deps import BusDep, UowDep
from waterline.web.errors import ApiError
from waterline.web.routes.access import SignedIn, authorised
from waterline.web.schemas.customer import ContactOut
from waterline.web.schemas.order import DispatchIn, OrderIn, OrderOut, TransitionIn

router = APIRouter(prefix="/api/orders", tags=["orders"])

MAX_PAGE = 500
COURIER_MAY_SET = frozenset({OrderState.DELIVERING, OrderState.DELIVERED})
# A courier login without a courier record sees nothing; no stored id is negative.
NOBODY = -1


@dataclass(frozen=True)
class Viewer:
    """Who is looking: everyone with orders.read sees all; a courier only his own (``courier_id``)."""

    user: User
    courier_id: int | None

    @property
    def restricted(self) -> bool:
        """True for a courier's own-deliveries view."""
        return self.courier_id is not None

    def may_see(self, order: Order) -> bool:
        """Whether the order is visible at all."""
        return not self.restricted or order.courier_id == self.courier_id

    def sees_phones_of(self, order: Order) -> bool:
        """Whether the customer's phones are shown unmasked with this order."""
        return not self.restricted or order.state in WITH_COURIER


def _forbidden(permission_zh: str, permission_en: str) -> ApiError:
    return ApiError(403, "auth.forbidden", f"没有权限：{permission_zh}", f"Forbidden: {permission_en}")


def viewer_of(uow: UnitOfWork, user: User) -> Viewer:
    """The viewer for ``user`` (inside an entered unit of work); 403 when he may not see orders."""
    if user.may(Permission.ORDERS_READ):
        return Viewer(user, None)
    if user.may(Permission.DELIVERIES_OWN):
        courier = uow.couriers.find_by_user(user.id)
        if courier is None and user.courier_id is not None:
            courier = uow.couriers.get(user.courier_id)
        return Viewer(user, courier.id if courier is not None and courier.id is not None else NOBODY)
    raise _forbidden("查看订单", "viewing orders needs orders.read or deliveries.own")


class _Contacts:
    """Customers loaded once per request, for the contact block of each order."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.cache: dict[int, Customer | None] = {}

    def of(self, order: Order, viewer: Viewer) -> ContactOut | None:
        if order.customer_id not in self.cache:
            self.cache[order.customer_id] = self.uow.customers.get(order.customer_id)
        customer = self.cache[order.customer_id]
        if customer is None:
            return None
        address = customer.address_by_id(order.address_id)
        return ContactOut.of(customer, address, masked=not viewer.sees_phones_of(order))


def _visible(uow: UnitOfWork, viewer: Viewer, order_id: int) -> Order:
    order = uow.orders.get(order_id)
    # another courier's order answers like a missing one: its existence is none of his business
    if order is None or not viewer.may_see(order):
        raise NotFound("order", order_id)
    return order


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=SHANGHAI).astimezone(UTC)


@router.post("", status_code=201)
async def place_order(
    body: OrderIn, user: Annotated[User, authorised(Permission.ORDERS_CREATE)], bus: BusDep
) -> OrderOut:
    """Place an order; it is dispatched at once unless dispatch is manual. 201 with id, number, state,
    station_id, courier_id and eta; 422 for bad input, 409 when tickets cannot cover it."""
    command = PlaceOrder(
        customer_id=body.customer_id,
        items=tuple(item.to_request() for item in body.items),
        channel=body.channel,
        address_id=body.address_id,
        pay_with_tickets=body.pay_with_tickets,
        window_start=body.window_start,
        window_end=body.window_end,
        note=body.note,
        auto_dispatch=body.auto_dispatch,
        by=str(user.id),
    )

    def place() -> OrderOut:
        order: Order = bus.handle(command)
        return OrderOut.full(order)

    # The hot route is async and hands only the store work to the threadpool: FastAPI runs a sync
    # route there and then validates its answer in the threadpool again, two thread hops per order.
    return await run_in_threadpool(place)


@router.get("")
def list_orders(
    user: SignedIn,
    uow: UowDep,
    state: OrderState | None = None,
    station_id: int | None = None,
    courier_id: int | None = None,
    customer_id: int | None = None,
    day: Annotated[
        date | None, Query(alias="date", description="下单日期（北京时间）/ day placed, Asia/Shanghai")
    ] = None,
    date_from: Annotated[date | None, Query(description="起始日期（含）/ first day, inclusive")] = None,
    date_to: Annotated[date | None, Query(description="截止日期（含）/ last day, inclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[OrderOut]:
    """Orders, newest first, filtered by state, station, courier, customer and days placed."""
    first = day or date_from
    last = day or date_to
    if first is not None and last is not None and last < first:
        raise InvalidInput("invalid_input", detail="date_to is before date_from / 截止日期早于起始日期")
    with uow:
        viewer = viewer_of(uow, user)
        criteria = OrderFilter(
            state=state,
            station_id=station_id,
            courier_id=viewer.courier_id if viewer.restricted else courier_id,
            customer_id=customer_id,
            placed_from=_day_start(first) if first is not None else None,
            placed_to=_day_start(last + timedelta(days=1)) if last is not None else None,
            limit=limit,
            offset=offset,
        )
        contacts = _Contacts(uow)
        return [OrderOut.full(o, contacts.of(o, viewer)) for o in uow.orders.search(criteria)]


@router.get("/{order_id}")
def get_order(order_id: int, user: SignedIn, uow: UowDep) -> OrderOut:
    """One order with its transitions and contact (404 when unknown or, for a courier, not his)."""
    with uow:
        viewer = viewer_of(uow, user)
        order = _visible(uow, viewer, order_id)
        return OrderOut.full(order, _Contacts(uow).of(order, viewer))


def _check_transition(uow: UnitOfWork, user: User, order_id: int, to: OrderState) -> None:
    """403/404 unless ``user`` may move this order to ``to``."""
    if to is OrderState.CANCELLED and user.may(Permission.ORDERS_CANCEL):
        return
    if to is OrderState.DISPATCHED:
        if not user.may(Permission.ORDERS_DISPATCH):
            raise _forbidden("派单", "dispatching needs orders.dispatch")
        return
    if not user.may(Permission.ORDERS_TRANSITION):
        raise _forbidden("变更订单状态", "changing an order's state needs orders.transition")
    viewer = viewer_of(uow, user)
    if viewer.restricted:
        _visible(uow, viewer, order_id)
        if to not in COURIER_MAY_SET:
            raise _forbidden("送水员只能标记配送中或已送达", "a courier may only set delivering or delivered")


@router.post("/{order_id}/transitions")
def transition_order(order_id: int, body: TransitionIn, user: SignedIn, uow: UowDep, bus: BusDep) -> OrderOut:
    """Move the order to ``to`` (delivering, delivered, closed, cancelled; dispatched by the policy).

    409 for a transition the state machine does not allow; delivered spends the tickets (409 when they
    do not cover it) and books the buckets (``empties_collected``).
    """
    with uow:
        _check_transition(uow, user, order_id, body.to)
    order: Order = bus.handle(
        TransitionOrder(
            order_id=order_id,
            to=body.to,
            reason=body.reason,
            empties_collected=body.empties_collected,
            tickets_used=body.tickets_used,
            by=str(user.id),
        )
    )
    return _with_contact(uow, user, order)


@router.post("/{order_id}/dispatch")
def dispatch_order(
    order_id: int,
    body: DispatchIn,
    user: Annotated[User, authorised(Permission.ORDERS_DISPATCH)],
    uow: UowDep,
    bus: BusDep,
) -> OrderOut:
    """Dispatch a placed order by hand: to a courier, to a station (policy picks the courier) or by
    the policy altogether. 409 when the order is no longer placed, 422 when nobody can take it."""
    order: Order = bus.handle(
        DispatchOrder(
            order_id=order_id, station_id=body.station_id, courier_id=body.courier_id, by=str(user.id)
        )
    )
    return _with_contact(uow, user, order)


def _with_contact(uow: UnitOfWork, user: User, order: Order) -> OrderOut:
    with uow:
        viewer = viewer_of(uow, user)
        return OrderOut.full(order, _Contacts(uow).of(order, viewer))
