"""Business answers to a call flow's requests (``calls.actions.Request``): who is calling, reorder,
order status, complaint, missed-call task, opening hours.

:class:`IvrDesk` is what the telephony driver calls, in a worker thread, once per request: each answer
runs in its own unit of work (or through the message bus, for ``reorder``: the same ``PlaceOrder``
an agent's order goes through, with channel ``ivr``). Results are plain mappings of the keys the flow
reads (documented on ``calls.actions.Request``); text meant to be spoken is Chinese.

Who the caller is and where (region, station, opening hours, holidays) is answered by ports given at
construction (:class:`CallerIdentifier`, :class:`StationClock`), so the lookup and calendar adapters
stay outside the service layer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from waterline.domain import phones
from waterline.domain.commands import PlaceOrder
from waterline.domain.errors import InvalidInput, found
from waterline.domain.orders import SHANGHAI, Channel, ItemRequest, Order, OrderState
from waterline.domain.tasks import Complaint, Task, TaskKind
from waterline.services.ports import Clock, UnitOfWork

__all__ = [
    "CallerIdentifier",
    "CommandBus",
    "IvrDesk",
    "StationClock",
    "STATE_TEXT",
    "eta_text",
]

STATE_TEXT: Mapping[OrderState, str] = {
    OrderState.PLACED: "已受理，正在安排送水师傅",
    OrderState.DISPATCHED: "已派单，送水师傅即将出发",
    OrderState.DELIVERING: "送水师傅正在配送途中",
    OrderState.DELIVERED: "已送达",
    OrderState.CLOSED: "已完成",
    OrderState.CANCELLED: "已取消",
}
COMPLAINT_REASONS: Mapping[str, str] = {
    "1": "送水慢", "2": "服务态度", "3": "水质问题", "4": "其他",
}
"""Digits of the default flow's complaint menu → reason; a reason given as text is kept as it is."""


class CommandBus(Protocol):
    """The message bus as the desk uses it."""

    def handle(self, command: Any) -> Any: ...


class CallerIdentifier(Protocol):
    """Caller number (+ DID, + a city the caller chose in the flow, if any) → the ``identify`` result keys
    (customer, region, station, usual order…)."""

    def __call__(self, caller: str, did: str, region: str | None = None) -> Mapping[str, object]: ...


class StationClock(Protocol):
    """A station (or None: the business's default hours) → ``open``, ``holiday``, ``workday`` now."""

    def __call__(self, station_id: int | None) -> Mapping[str, object]: ...


def eta_text(order: Order) -> str:
    """The ETA as said on the phone: 今天15:20 / 尽快."""
    if order.eta is None:
        return "尽快"
    return order.eta.astimezone(SHANGHAI).strftime("%H点%M分")


def _int(args: Mapping[str, object], key: str) -> int | None:
    value = args.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidInput("invalid_input", detail=f"{key} must be a number")
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError as exc:
        raise InvalidInput("invalid_input", detail=f"{key} must be a number") from exc


def _text(args: Mapping[str, object], key: str) -> str:
    value = args.get(key)
    return "" if value is None else str(value)


def _customer_of(uow: UnitOfWork, caller: str) -> int | None:
    """The id of the customer owning ``caller``'s number, None when unknown or not a phone."""
    try:
        number = phones.normalise(caller)
    except InvalidInput:
        return None
    customer = uow.customers.find_by_phone(number)
    return None if customer is None else customer.id


class IvrDesk:
    """Answers ``Request`` kinds; ``answer`` is blocking (the driver calls it in a worker thread)."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], bus: CommandBus, clock: Clock, *,
                 identify: CallerIdentifier, station_clock: StationClock) -> None:
        self.uow_factory = uow_factory
        self.bus = bus
        self.clock = clock
        self.identify = identify
        self.station_clock = station_clock

    def answer(self, kind: str, args: Mapping[str, object]) -> Mapping[str, object]:
        """The result of request ``kind``; raises (``LookupError`` for an unknown kind, domain errors)
        and the driver turns that into ``RequestFailed``."""
        if kind == "identify":
            chosen = _text(args, "region_city") or None
            return self.identify(_text(args, "caller"), _text(args, "did"), chosen)
        if kind == "reorder":
            return self.reorder(args)
        if kind == "order_status":
            return self.order_status(_int(args, "customer_id"))
        if kind == "complaint":
            return self.complaint(args)
        if kind == "missed_call":
            return self.missed_call(args)
        if kind == "clock":
            return self.station_clock(_int(args, "station_id"))
        raise LookupError(f"unknown request kind {kind!r}")

    def reorder(self, args: Mapping[str, object]) -> Mapping[str, object]:
        """Place the caller's usual order (channel ``ivr``), paid with tickets when the balance covers it."""
        customer_id = _int(args, "customer_id")
        if customer_id is None:
            raise InvalidInput("invalid_input", detail="reorder needs a known caller")
        with self.uow_factory() as uow:
            customer = found(uow.customers.get(customer_id), "customer", customer_id)
            product_id = customer.preferences.usual_product_id
            quantity = customer.preferences.usual_quantity or 1
            if product_id is None:
                # no usual order on file: what the caller ordered last time
                recent = uow.orders.recent_for_customer(customer_id, 1)
                if not recent or not recent[0].items:
                    raise InvalidInput("invalid_input", detail="no usual order")
                product_id = recent[0].items[0].product_id
                quantity = recent[0].items[0].quantity
            balance = sum(a.balance for a in uow.tickets.accounts(customer_id) if a.product_id == product_id)
        call_id = _text(args, "call_id")
        order: Order = self.bus.handle(PlaceOrder(
            customer_id=customer_id, items=(ItemRequest(product_id, quantity),), channel=Channel.IVR,
            pay_with_tickets=balance >= quantity, note=f"电话自助下单 {call_id}".strip(), by="ivr",
        ))
        return {"order_id": order.id, "number": order.number, "eta_text": eta_text(order),
                "station_id": order.station_id, "quantity": quantity,
                "paid_with_tickets": order.pay_with_tickets,
                "ticket_balance": balance - quantity if order.pay_with_tickets else balance}

    def order_status(self, customer_id: int | None) -> Mapping[str, object]:
        """The caller's newest open order: state and ETA as text; ``number`` None without one."""
        if customer_id is None:
            return {"number": None, "state_text": "", "eta_text": ""}
        with self.uow_factory() as uow:
            orders = uow.orders.recent_for_customer(customer_id, 5)
        open_orders = [o for o in orders if o.is_open]
        if not open_orders:
            return {"number": None, "state_text": "", "eta_text": ""}
        order = open_orders[0]
        return {"number": order.number, "state_text": STATE_TEXT.get(order.state, str(order.state)),
                "eta_text": eta_text(order), "order_id": order.id}

    def complaint(self, args: Mapping[str, object]) -> Mapping[str, object]:
        """A complaint ticket linked to the call."""
        reason = _text(args, "reason")
        reason = COMPLAINT_REASONS.get(reason, reason) or "其他"
        caller = _text(args, "caller")
        with self.uow_factory() as uow:
            customer_id = _int(args, "customer_id")
            if customer_id is None:
                customer_id = _customer_of(uow, caller)
            ticket = uow.complaints.add(Complaint(
                reason=reason, caller=caller, created_at=self.clock.now(),
                call_id=_text(args, "call_id") or None, customer_id=customer_id,
            ))
            uow.commit()
        return {"ticket_id": ticket.id}

    def missed_call(self, args: Mapping[str, object]) -> Mapping[str, object]:
        """A call-back task for a voicemail (or a call nobody answered), linked to the caller's customer
        when the number is known, so whoever calls back sees who it is."""
        caller = _text(args, "caller")
        with self.uow_factory() as uow:
            customer_id = _int(args, "customer_id")
            if customer_id is None:
                customer_id = _customer_of(uow, caller)
            task = uow.tasks.add(Task(
                kind=TaskKind.MISSED_CALL, caller=caller, created_at=self.clock.now(),
                call_id=_text(args, "call_id") or None, customer_id=customer_id,
                recording_id=_int(args, "recording_id"),
            ))
            uow.commit()
        return {"task_id": task.id}

