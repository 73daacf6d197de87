import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest

from waterline.domain.errors import IllegalTransition, InvalidInput
from waterline.domain.orders import (
    TRANSITIONS,
    Channel,
    Order,
    OrderItem,
    OrderState,
    can_transition,
    new_order,
    order_number,
    parse_order_number,
)

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)

LEGAL = {
    (OrderState.PLACED, OrderState.DISPATCHED),
    (OrderState.PLACED, OrderState.CANCELLED),
    (OrderState.DISPATCHED, OrderState.DELIVERING),
    (OrderState.DISPATCHED, OrderState.CANCELLED),
    (OrderState.DELIVERING, OrderState.DELIVERED),
    (OrderState.DELIVERED, OrderState.CLOSED),
}


def _order(state: OrderState = OrderState.PLACED) -> Order:
    order = new_order(
        number="SX20261125-0001",
        customer_id=1,
        address_id=1,
        items=[OrderItem(product_id=1, quantity=2, unit_price_fen=1800)],
        channel=Channel.AGENT,
        at=T0,
        by="7",
    )
    order.state = state  # put the order directly into the state under test
    return order


def test_table_is_exactly_the_specified_machine() -> None:
    pairs = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert pairs == LEGAL
    assert set(TRANSITIONS) == set(OrderState)


@pytest.mark.parametrize(("src", "dst"), list(itertools.product(OrderState, OrderState)))
def test_every_pair(src: OrderState, dst: OrderState) -> None:
    order = _order(src)
    at = T0 + timedelta(minutes=5)
    if (src, dst) in LEGAL:
        assert can_transition(src, dst)
        record = order.transition(dst, at, "9", "why")
        assert order.state is dst
        assert (record.from_state, record.to_state, record.at, record.by, record.reason) == (
            src,
            dst,
            at,
            "9",
            "why",
        )
        assert order.transitions[-1] is record
    else:
        assert not can_transition(src, dst)
        before = list(order.transitions)
        with pytest.raises(IllegalTransition) as info:
            order.transition(dst, at, "9")
        assert info.value.code == "order.illegal_transition"
        assert order.state is src and order.transitions == before


def test_full_life_cycle_records_every_step_in_utc() -> None:
    order = _order()
    shanghai = timezone(timedelta(hours=8))
    order.dispatch(3, 4, T0 + timedelta(minutes=40), T0 + timedelta(minutes=1), "system")
    order.transition(OrderState.DELIVERING, (T0 + timedelta(minutes=10)).astimezone(shanghai), "courier:4")
    order.transition(OrderState.DELIVERED, T0 + timedelta(minutes=30), "courier:4")
    order.transition(OrderState.CLOSED, T0 + timedelta(hours=2), "system")
    assert [t.to_state for t in order.transitions] == [
        OrderState.PLACED,
        OrderState.DISPATCHED,
        OrderState.DELIVERING,
        OrderState.DELIVERED,
        OrderState.CLOSED,
    ]
    assert order.transitions[0].from_state is None
    assert all(t.at.tzinfo is UTC for t in order.transitions)
    assert order.entered_at(OrderState.DELIVERING) == T0 + timedelta(minutes=10)
    assert (order.station_id, order.courier_id) == (3, 4)


def test_reassign_moves_a_dispatched_order_and_records_who() -> None:
    order = _order()
    order.dispatch(3, 4, T0 + timedelta(minutes=40), T0 + timedelta(minutes=1), "system")
    record = order.reassign(5, 6, T0 + timedelta(minutes=50), T0 + timedelta(minutes=3), "8", "改派")
    assert (order.state, order.station_id, order.courier_id) == (OrderState.DISPATCHED, 5, 6)
    assert order.eta == T0 + timedelta(minutes=50)
    assert (record.from_state, record.to_state, record.by, record.reason) == (
        OrderState.DISPATCHED, OrderState.DISPATCHED, "8", "改派",
    )
    assert order.transitions[-1] is record
    # the order entered dispatched once: response-time figures keep the first dispatch
    assert order.entered_at(OrderState.DISPATCHED) == T0 + timedelta(minutes=1)


@pytest.mark.parametrize("state", [s for s in OrderState if s is not OrderState.DISPATCHED])
def test_reassign_only_while_dispatched(state: OrderState) -> None:
    order = _order(state)
    with pytest.raises(IllegalTransition):
        order.reassign(5, 6, None, T0, "8")
    assert order.state is state and len(order.transitions) == 1


def test_reassign_to_the_same_courier_is_refused() -> None:
    order = _order()
    order.dispatch(3, 4, None, T0, "system")
    with pytest.raises(IllegalTransition):
        order.reassign(3, 4, None, T0, "8")
    assert len(order.transitions) == 2


def test_cancel_needs_reason_and_is_recorded() -> None:
    order = _order()
    with pytest.raises(InvalidInput):
        order.cancel("  ", T0, "7")
    assert order.state is OrderState.PLACED
    order.cancel("客户不在家", T0, "7")
    assert order.state is OrderState.CANCELLED
    assert order.cancel_reason == "客户不在家" and order.transitions[-1].reason == "客户不在家"


def test_cancel_refused_once_delivering() -> None:
    with pytest.raises(IllegalTransition):
        _order(OrderState.DELIVERING).cancel("late", T0, "7")


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        _order().transition(OrderState.DISPATCHED, datetime(2026, 11, 25, 10, 0), "7")


@pytest.mark.parametrize("qty", [0, -1, -20])
def test_non_positive_quantities_refused(qty: int) -> None:
    with pytest.raises(InvalidInput) as info:
        new_order(
            number="SX20261125-0001",
            customer_id=1,
            address_id=1,
            items=[OrderItem(product_id=1, quantity=qty, unit_price_fen=1800)],
            channel=Channel.WEB,
            at=T0,
            by="7",
        )
    assert info.value.code == "order.bad_quantity"


def test_empty_order_and_bad_window_refused() -> None:
    common = dict(number="N", customer_id=1, address_id=1, channel=Channel.IVR, at=T0, by="7")
    with pytest.raises(InvalidInput):
        new_order(items=[], **common)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        new_order(
            items=[OrderItem(1, 1, 100)],
            window_start=T0,
            window_end=T0,
            **common,  # type: ignore[arg-type]
        )


def test_totals_in_fen() -> None:
    order = _order()
    order.items.append(OrderItem(product_id=2, quantity=3, unit_price_fen=2500, paid_with_tickets=True))
    assert order.total_fen == 2 * 1800 + 3 * 2500
    assert order.due_fen == 2 * 1800
    assert order.units == 5 and order.ticket_units == 3


def test_order_number_uses_shanghai_day() -> None:
    # 2026-11-24 17:30 UTC is already 2026-11-25 01:30 in Xi'an
    assert order_number(datetime(2026, 11, 24, 17, 30, tzinfo=UTC), 7) == "SX20261125-0007"
    assert order_number(datetime(2026, 11, 24, 15, 59, tzinfo=UTC), 7) == "SX20261124-0007"
    assert order_number(T0, 12345) == "SX20261125-12345"
    with pytest.raises(InvalidInput):
        order_number(T0, 0)


def test_parse_order_number_round_trips() -> None:
    prefix, day, seq = parse_order_number("SX20261125-0007")
    assert (prefix, day.isoformat(), seq) == ("SX", "2026-11-25", 7)
    for bad in ["SX2026112-0007", "SX20261332-0001", "20261125-0001", ""]:
        with pytest.raises(InvalidInput):
            parse_order_number(bad)
