"""Orders: items, channel, requested window, and the order state machine as a table.

Every state change is appended as an ``OrderTransition`` (from, to, at, by, reason); response-time
KPIs are computed from these records, so they are never edited.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from waterline.domain.errors import IllegalTransition, InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")
SYSTEM = "system"  # the ``by`` of transitions made by the platform itself


class OrderState(enum.StrEnum):
    """Life cycle of an order."""

    PLACED = "placed"
    DISPATCHED = "dispatched"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Channel(enum.StrEnum):
    """Where an order came from."""

    AGENT = "agent"
    IVR = "ivr"
    WEB = "web"
    RECURRING = "recurring"
    IMPORT = "import"


# The whole state machine: state -> states it may move to. Terminal states map to nothing.
TRANSITIONS: Mapping[OrderState, frozenset[OrderState]] = {
    OrderState.PLACED: frozenset({OrderState.DISPATCHED, OrderState.CANCELLED}),
    OrderState.DISPATCHED: frozenset({OrderState.DELIVERING, OrderState.CANCELLED}),
    OrderState.DELIVERING: frozenset({OrderState.DELIVERED}),
    OrderState.DELIVERED: frozenset({OrderState.CLOSED}),
    OrderState.CLOSED: frozenset(),
    OrderState.CANCELLED: frozenset(),
}
# States in which a courier is holding the order (his load counts it).
WITH_COURIER = frozenset({OrderState.DISPATCHED, OrderState.DELIVERING})
OPEN_STATES = frozenset({OrderState.PLACED, OrderState.DISPATCHED, OrderState.DELIVERING})

STATE_NAMES_ZH: Mapping[OrderState, str] = {
    OrderState.PLACED: "已下单",
    OrderState.DISPATCHED: "已派单",
    OrderState.DELIVERING: "配送中",
    OrderState.DELIVERED: "已送达",
    OrderState.CLOSED: "已完结",
    OrderState.CANCELLED: "已取消",
}


def can_transition(from_state: OrderState, to_state: OrderState) -> bool:
    """True when the table allows ``from_state`` -> ``to_state``."""
    return to_state in TRANSITIONS[from_state]


_NUMBER_RE = re.compile(r"^([A-Z]{2})(\d{8})-(\d{4,})$")


def order_number(placed_at: datetime, seq: int, prefix: str = "SX") -> str:
    """Human order number ``SX20261125-0007``: Shanghai calendar day + daily sequence from 1."""
    if seq < 1:
        raise InvalidInput("order.bad_sequence", seq=seq)
    day = business_day(placed_at)
    return f"{prefix}{day:%Y%m%d}-{seq:04d}"


def business_day(at: datetime) -> date:
    """The Asia/Shanghai calendar day of an aware datetime (daily sequences restart on it)."""
    return _require_aware(at).astimezone(SHANGHAI).date()


def parse_order_number(number: str) -> tuple[str, date, int]:
    """Split an order number into (prefix, day, sequence); ``InvalidInput`` when malformed."""
    match = _NUMBER_RE.match(number.strip().upper())
    if match is None:
        raise InvalidInput("invalid_input", detail=f"order number {number!r}")
    prefix, day_text, seq_text = match.groups()
    try:
        day = datetime.strptime(day_text, "%Y%m%d").date()
    except ValueError as exc:
        raise InvalidInput("invalid_input", detail=f"order number {number!r}") from exc
    return prefix, day, int(seq_text)


def _require_aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("naive datetime; the domain works with aware UTC datetimes")
    return at


@dataclass
class OrderItem:
    """One line: a product, a positive quantity, and the unit price at the time of the order."""

    product_id: int
    quantity: int
    unit_price_fen: int
    paid_with_tickets: bool = False
    id: int | None = None

    @property
    def total_fen(self) -> int:
        """Line total in fen."""
        return self.quantity * self.unit_price_fen


@dataclass
class OrderTransition:
    """One recorded state change; ``from_state`` is None for the creation record."""

    from_state: OrderState | None
    to_state: OrderState
    at: datetime
    by: str
    reason: str = ""
    id: int | None = None


@dataclass
class Order:
    """An order for delivery to one address of one customer."""

    number: str
    customer_id: int
    address_id: int
    channel: Channel
    placed_at: datetime
    items: list[OrderItem] = field(default_factory=list)
    state: OrderState = OrderState.PLACED
    window_start: datetime | None = None
    window_end: datetime | None = None
    station_id: int | None = None
    courier_id: int | None = None
    eta: datetime | None = None
    pay_with_tickets: bool = False
    tickets_used: int = 0
    empties_collected: int = 0
    note: str = ""
    cancel_reason: str = ""
    transitions: list[OrderTransition] = field(default_factory=list)
    id: int | None = None

    @property
    def total_fen(self) -> int:
        """Sum of all lines in fen."""
        return sum(item.total_fen for item in self.items)

    @property
    def due_fen(self) -> int:
        """What the customer pays in money: lines not covered by water tickets."""
        return sum(item.total_fen for item in self.items if not item.paid_with_tickets)

    @property
    def units(self) -> int:
        """Number of pieces to carry (what a courier's capacity is measured in)."""
        return sum(item.quantity for item in self.items)

    @property
    def ticket_units(self) -> int:
        """Pieces to be paid with water tickets."""
        return sum(item.quantity for item in self.items if item.paid_with_tickets)

    @property
    def is_open(self) -> bool:
        """Not yet delivered nor cancelled."""
        return self.state in OPEN_STATES

    def transition(self, to_state: OrderState, at: datetime, by: str, reason: str = "") -> OrderTransition:
        """Move to ``to_state`` if the table allows it, recording who and when; else ``IllegalTransition``."""
        _require_aware(at)
        if not can_transition(self.state, to_state):
            raise IllegalTransition(
                "order.illegal_transition",
                number=self.number,
                from_state=self.state.value,
                to_state=to_state.value,
            )
        record = OrderTransition(
            from_state=self.state, to_state=to_state, at=at.astimezone(UTC), by=by, reason=reason
        )
        self.transitions.append(record)
        self.state = to_state
        return record

    def dispatch(
        self, station_id: int, courier_id: int, eta: datetime | None, at: datetime, by: str, reason: str = ""
    ) -> OrderTransition:
        """Hand the order to a courier of a station (placed -> dispatched)."""
        record = self.transition(OrderState.DISPATCHED, at, by, reason)
        self.station_id = station_id
        self.courier_id = courier_id
        self.eta = eta.astimezone(UTC) if eta is not None else None
        return record

    def reassign(
        self, station_id: int, courier_id: int, eta: datetime | None, at: datetime, by: str, reason: str = ""
    ) -> OrderTransition:
        """Give a dispatched order to another courier (改派) before he sets out.

        Recorded as a dispatched -> dispatched transition, so the history shows who moved it and when
        (the state table has no such edge: it is not a state change). ``IllegalTransition`` in any
        other state, or when ``courier_id`` already has the order.
        """
        _require_aware(at)
        if self.state is not OrderState.DISPATCHED or courier_id == self.courier_id:
            raise IllegalTransition(
                "order.illegal_transition",
                number=self.number,
                from_state=self.state.value,
                to_state=OrderState.DISPATCHED.value,
            )
        record = OrderTransition(
            from_state=OrderState.DISPATCHED,
            to_state=OrderState.DISPATCHED,
            at=at.astimezone(UTC),
            by=by,
            reason=reason,
        )
        self.transitions.append(record)
        self.station_id = station_id
        self.courier_id = courier_id
        self.eta = eta.astimezone(UTC) if eta is not None else None
        return record

    def cancel(self, reason: str, at: datetime, by: str) -> OrderTransition:
        """Cancel with a mandatory reason (only from placed or dispatched)."""
        if not reason.strip():
            raise InvalidInput("order.cancel_reason_required")
        record = self.transition(OrderState.CANCELLED, at, by, reason.strip())
        self.cancel_reason = reason.strip()
        return record

    def entered_at(self, state: OrderState) -> datetime | None:
        """When the order (last) entered ``state``, for response-time figures."""
        for record in reversed(self.transitions):
            # a reassignment (dispatched -> dispatched) does not enter the state again
            if record.to_state is state and record.from_state is not state:
                return record.at
        return None


@dataclass(frozen=True)
class ItemRequest:
    """A requested line before pricing."""

    product_id: int
    quantity: int


def new_order(
    *,
    number: str,
    customer_id: int,
    address_id: int,
    items: Sequence[OrderItem],
    channel: Channel,
    at: datetime,
    by: str,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    pay_with_tickets: bool = False,
    note: str = "",
) -> Order:
    """Create a placed order after checking items and window; records the creation transition."""
    _require_aware(at)
    if not items:
        raise InvalidInput("order.no_items")
    for item in items:
        if isinstance(item.quantity, bool) or item.quantity <= 0:
            raise InvalidInput("order.bad_quantity", quantity=item.quantity)
    if window_start is not None and window_end is not None and window_end <= window_start:
        raise InvalidInput("order.bad_window")
    order = Order(
        number=number,
        customer_id=customer_id,
        address_id=address_id,
        channel=channel,
        placed_at=at.astimezone(UTC),
        items=list(items),
        window_start=window_start,
        window_end=window_end,
        pay_with_tickets=pay_with_tickets,
        note=note,
    )
    order.transitions.append(
        OrderTransition(from_state=None, to_state=OrderState.PLACED, at=order.placed_at, by=by)
    )
    return order
