from dataclasses import FrozenInstanceError
from datetime import UTC, datetime

import pytest

from waterline.domain.errors import InvalidInput, TicketOverdraw
from waterline.domain.tickets import TicketAccount, TicketEntryKind, plan_consumption, replay

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def test_sale_consume_adjust_chain_and_replay() -> None:
    account = TicketAccount(customer_id=1, product_id=2)
    entries = []
    for make in (
        lambda a: a.sell(22, 36000, T0, "5", note="20送2"),
        lambda a: a.consume(3, 100, T0, "courier:1"),
        lambda a: a.adjust(-1, "丢失", T0, "5"),
    ):
        entry = make(account)
        entries.append(entry)
        account = account.apply(entry)
    assert [e.kind for e in entries] == [
        TicketEntryKind.SALE,
        TicketEntryKind.CONSUMPTION,
        TicketEntryKind.ADJUSTMENT,
    ]
    assert [e.quantity for e in entries] == [22, -3, -1]
    assert [e.balance_after for e in entries] == [22, 19, 18]
    assert [e.seq for e in entries] == [1, 2, 3]
    assert account.balance == 18
    assert replay(1, 2, None, reversed(entries)) == account


def test_entries_are_immutable() -> None:
    entry = TicketAccount(1, 2).sell(10, 100, T0, "5")
    with pytest.raises(FrozenInstanceError):
        entry.quantity = 99  # type: ignore[misc]


def test_overdraw_refused() -> None:
    account = TicketAccount(1, 2, balance=2, last_seq=1)
    with pytest.raises(TicketOverdraw) as info:
        account.consume(3, 1, T0, "x")
    assert info.value.code == "ticket.overdraw"
    assert "余额2张" in info.value.message_zh
    with pytest.raises(TicketOverdraw):
        account.adjust(-3, "fix", T0, "x")


@pytest.mark.parametrize("qty", [0, -1])
def test_non_positive_quantities_refused(qty: int) -> None:
    account = TicketAccount(1, 2, balance=5, last_seq=1)
    with pytest.raises(InvalidInput):
        account.sell(qty, 0, T0, "x")
    with pytest.raises(InvalidInput):
        account.consume(qty, None, T0, "x")


def test_apply_rejects_out_of_sequence_or_foreign_entries() -> None:
    account = TicketAccount(1, 2)
    entry = account.sell(5, 100, T0, "x")
    with pytest.raises(ValueError):
        account.apply(entry).apply(entry)
    with pytest.raises(ValueError):
        TicketAccount(9, 2).apply(entry)


def test_plan_consumption_prefers_station_tickets_then_general() -> None:
    station = TicketAccount(1, 2, station_id=3, balance=2, last_seq=4)
    general = TicketAccount(1, 2, station_id=None, balance=10, last_seq=1)
    entries = plan_consumption([station, general], 5, 77, T0, "courier:1")
    assert [(e.station_id, e.quantity, e.balance_after, e.seq) for e in entries] == [
        (3, -2, 0, 5),
        (None, -3, 7, 2),
    ]
    assert all(e.order_id == 77 for e in entries)


def test_plan_consumption_refuses_overdraw_across_accounts() -> None:
    accounts = [
        TicketAccount(1, 2, station_id=3, balance=2, last_seq=1),
        TicketAccount(1, 2, balance=1, last_seq=1),
    ]
    with pytest.raises(TicketOverdraw) as info:
        plan_consumption(accounts, 4, 1, T0, "x")
    assert info.value.params == {"needed": 4, "balance": 3}
