"""Orders: the placement contract, the order view, transitions and manual dispatch."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from waterline.domain.orders import (
    STATE_NAMES_ZH,
    Channel,
    ItemRequest,
    Order,
    OrderItem,
    OrderState,
    OrderTransition,
)
from waterline.web.schemas.customer import ContactOut


class ItemIn(BaseModel):
    """One requested line; the quantity is checked by the domain (positive integer)."""

    product_id: int
    quantity: int

    def to_request(self) -> ItemRequest:
        """The domain value."""
        return ItemRequest(product_id=self.product_id, quantity=self.quantity)


class OrderIn(BaseModel):
    """``POST /api/orders``: ``address_id`` None means the customer's default address."""

    customer_id: int
    address_id: int | None = None
    items: list[ItemIn] = Field(max_length=50)
    channel: Channel = Channel.AGENT
    pay_with_tickets: bool = False
    window_start: datetime | None = None
    window_end: datetime | None = None
    note: str = Field(default="", max_length=500)
    # None follows the installation's dispatch setting (auto or manual).
    auto_dispatch: bool | None = None


class TransitionIn(BaseModel):
    """``POST /api/orders/{id}/transitions``; fields as relevant to the target state."""

    to: OrderState
    reason: str = Field(default="", max_length=500)
    empties_collected: int = 0
    # None: spend the tickets of the ticket-paid lines; a number: what the courier actually collected.
    tickets_used: int | None = None


class DispatchIn(BaseModel):
    """Manual dispatch: a courier (his station follows), a station (policy picks the courier), or neither."""

    station_id: int | None = None
    courier_id: int | None = None


class ItemOut(BaseModel):
    """A priced order line."""

    product_id: int
    quantity: int
    unit_price_fen: int
    total_fen: int
    paid_with_tickets: bool

    @classmethod
    def of(cls, item: OrderItem) -> ItemOut:
        """The API view of ``item``."""
        return cls(
            product_id=item.product_id,
            quantity=item.quantity,
            unit_price_fen=item.unit_price_fen,
            total_fen=item.total_fen,
            paid_with_tickets=item.paid_with_tickets,
        )


class TransitionOut(BaseModel):
    """One recorded state change (``from_state`` None for the creation record)."""

    from_state: OrderState | None
    to_state: OrderState
    at: datetime
    by: str
    reason: str

    @classmethod
    def of(cls, record: OrderTransition) -> TransitionOut:
        """The API view of ``record``."""
        return cls(
            from_state=record.from_state,
            to_state=record.to_state,
            at=record.at,
            by=record.by,
            reason=record.reason,
        )


class OrderSummaryOut(BaseModel):
    """An order in a list (screen-pop ``last_orders``)."""

    id: int
    number: str
    state: OrderState
    state_zh: str
    channel: Channel
    placed_at: datetime
    station_id: int | None
    courier_id: int | None
    eta: datetime | None
    items: list[ItemOut]
    total_fen: int
    pay_with_tickets: bool

    @classmethod
    def fields_of(cls, order: Order) -> dict[str, object]:
        """The field values of ``order`` (shared with the full view)."""
        assert order.id is not None
        return {
            "id": order.id,
            "number": order.number,
            "state": order.state,
            "state_zh": STATE_NAMES_ZH[order.state],
            "channel": order.channel,
            "placed_at": order.placed_at,
            "station_id": order.station_id,
            "courier_id": order.courier_id,
            "eta": order.eta,
            "items": [ItemOut.of(i) for i in order.items],
            "total_fen": order.total_fen,
            "pay_with_tickets": order.pay_with_tickets,
        }

    @classmethod
    def of(cls, order: Order) -> OrderSummaryOut:
        """The summary view of ``order``."""
        return cls.model_validate(cls.fields_of(order))


class OrderOut(OrderSummaryOut):
    """The full order: lines, money, window, ticket and bucket figures, every transition, the contact."""

    customer_id: int
    address_id: int
    due_fen: int
    units: int
    window_start: datetime | None
    window_end: datetime | None
    tickets_used: int
    empties_collected: int
    note: str
    cancel_reason: str
    transitions: list[TransitionOut]
    contact: ContactOut | None = None

    @classmethod
    def full(cls, order: Order, contact: ContactOut | None = None) -> OrderOut:
        """The full view of ``order``, with the contact block when given."""
        fields = cls.fields_of(order)
        fields.update(
            customer_id=order.customer_id,
            address_id=order.address_id,
            due_fen=order.due_fen,
            units=order.units,
            window_start=order.window_start,
            window_end=order.window_end,
            tickets_used=order.tickets_used,
            empties_collected=order.empties_collected,
            note=order.note,
            cancel_reason=order.cancel_reason,
            transitions=[TransitionOut.of(t) for t in order.transitions],
            contact=contact,
        )
        return cls.model_validate(fields)
