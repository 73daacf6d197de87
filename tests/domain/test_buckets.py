from datetime import UTC, datetime

import pytest

from waterline.domain.buckets import BucketAccount, BucketEntryKind, replay
from waterline.domain.errors import InvalidInput

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def test_held_is_entitlement_plus_over_and_debt_when_over() -> None:
    account = BucketAccount(customer_id=1)
    entries = []
    for make in (
        lambda a: a.deposit(2, 6000, T0, "5"),
        lambda a: a.deliver(3, 10, T0, "courier:1"),
        lambda a: a.collect(1, 10, T0, "courier:1"),
        lambda a: a.deliver(2, 11, T0, "courier:1"),
    ):
        entry = make(account)
        entries.append(entry)
        account = account.apply(entry)
    assert [e.kind for e in entries] == [
        BucketEntryKind.DEPOSIT,
        BucketEntryKind.DELIVERED,
        BucketEntryKind.COLLECTED,
        BucketEntryKind.DELIVERED,
    ]
    assert (account.entitlement, account.held, account.over, account.debt) == (2, 4, 2, 2)
    assert account.held == account.entitlement + account.over
    assert replay(1, entries) == account


def test_unused_deposit_is_not_debt() -> None:
    account = BucketAccount(1, entitlement=3, held=1, last_seq=2)
    assert account.over == -2 and account.debt == 0


def test_refund_and_collect_limits() -> None:
    account = BucketAccount(1, entitlement=1, held=2, last_seq=2)
    with pytest.raises(InvalidInput) as info:
        account.refund(2, 3000, T0, "x")
    assert info.value.code == "bucket.refund_exceeds"
    with pytest.raises(InvalidInput) as info:
        account.collect(3, None, T0, "x")
    assert info.value.code == "bucket.collect_exceeds"
    refund = account.refund(1, 3000, T0, "x")
    assert (refund.entitlement_after, refund.amount_fen) == (0, -3000)


def test_adjustment_needs_reason_and_keeps_counts_non_negative() -> None:
    account = BucketAccount(1, entitlement=1, held=1, last_seq=1)
    with pytest.raises(InvalidInput):
        account.adjust(1, 0, " ", T0, "x")
    with pytest.raises(InvalidInput):
        account.adjust(-2, 0, "盘点", T0, "x")
    entry = account.adjust(2, 1, "盘点", T0, "x")
    assert account.apply(entry) == BucketAccount(1, entitlement=2, held=3, last_seq=2)


@pytest.mark.parametrize("qty", [0, -3])
def test_non_positive_counts_refused(qty: int) -> None:
    account = BucketAccount(1, entitlement=5, held=5, last_seq=1)
    for action in (
        lambda: account.deposit(qty, 0, T0, "x"),
        lambda: account.deliver(qty, None, T0, "x"),
        lambda: account.collect(qty, None, T0, "x"),
    ):
        with pytest.raises(InvalidInput):
            action()
