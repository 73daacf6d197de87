"""Buckets (押桶/空桶): the deposit ledger and the buckets a customer holds.

``entitlement`` is the number of buckets covered by a paid deposit; ``held`` is how many of our
buckets are at the customer's. ``held = entitlement + over``; ``over > 0`` is bucket debt (欠桶).
Like tickets, the ledger is append-only with a running state and a per-customer ``seq``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from waterline.domain.errors import InvalidInput


class BucketEntryKind(enum.StrEnum):
    """Kinds of bucket ledger entry."""

    DEPOSIT = "deposit"  # deposit paid: entitlement +n
    REFUND = "refund"  # deposit refunded: entitlement -n
    DELIVERED = "delivered"  # full buckets left at the customer's: held +n
    COLLECTED = "collected"  # empties taken back: held -n
    ADJUSTMENT = "adjustment"  # stock-take correction of held and/or entitlement


@dataclass(frozen=True)
class BucketEntry:
    """One immutable ledger line with the deltas and the resulting state."""

    customer_id: int
    kind: BucketEntryKind
    held_delta: int
    entitlement_delta: int
    held_after: int
    entitlement_after: int
    seq: int
    at: datetime
    by: str
    order_id: int | None = None
    amount_fen: int = 0  # deposit paid (+) or refunded (-)
    note: str = ""
    id: int | None = None


@dataclass(frozen=True)
class BucketAccount:
    """A customer's bucket position as of the last entry."""

    customer_id: int
    entitlement: int = 0
    held: int = 0
    last_seq: int = 0

    @property
    def over(self) -> int:
        """Buckets held beyond the deposit (negative: unused deposit)."""
        return self.held - self.entitlement

    @property
    def debt(self) -> int:
        """Bucket debt (欠桶): buckets held without deposit."""
        return max(0, self.over)

    def _entry(
        self, kind: BucketEntryKind, held: int, entitlement: int, at: datetime, by: str, **extra: object
    ) -> BucketEntry:
        return BucketEntry(
            customer_id=self.customer_id,
            kind=kind,
            held_delta=held,
            entitlement_delta=entitlement,
            held_after=self.held + held,
            entitlement_after=self.entitlement + entitlement,
            seq=self.last_seq + 1,
            at=at.astimezone(UTC),
            by=by,
            **extra,  # type: ignore[arg-type]
        )

    def deposit(self, quantity: int, amount_fen: int, at: datetime, by: str, note: str = "") -> BucketEntry:
        """Deposit paid for ``quantity`` buckets."""
        _positive(quantity)
        if amount_fen < 0:
            raise InvalidInput("product.bad_price", price_fen=amount_fen)
        return self._entry(BucketEntryKind.DEPOSIT, 0, quantity, at, by, amount_fen=amount_fen, note=note)

    def refund(self, quantity: int, amount_fen: int, at: datetime, by: str, note: str = "") -> BucketEntry:
        """Deposit returned for ``quantity`` buckets; cannot exceed the entitlement."""
        _positive(quantity)
        if quantity > self.entitlement:
            raise InvalidInput("bucket.refund_exceeds", quantity=quantity, entitlement=self.entitlement)
        return self._entry(
            BucketEntryKind.REFUND, 0, -quantity, at, by, amount_fen=-abs(amount_fen), note=note
        )

    def deliver(self, quantity: int, order_id: int | None, at: datetime, by: str) -> BucketEntry:
        """Full buckets left with the customer on a delivery."""
        _positive(quantity)
        return self._entry(BucketEntryKind.DELIVERED, quantity, 0, at, by, order_id=order_id)

    def collect(self, quantity: int, order_id: int | None, at: datetime, by: str) -> BucketEntry:
        """Empties collected; cannot take back more than the customer holds."""
        _positive(quantity)
        if quantity > self.held:
            raise InvalidInput("bucket.collect_exceeds", quantity=quantity, held=self.held)
        return self._entry(BucketEntryKind.COLLECTED, -quantity, 0, at, by, order_id=order_id)

    def adjust(
        self, held_delta: int, entitlement_delta: int, reason: str, at: datetime, by: str
    ) -> BucketEntry:
        """A stock-take correction with a reason; neither figure may go negative."""
        if (held_delta == 0 and entitlement_delta == 0) or not reason.strip():
            raise InvalidInput("invalid_input", detail="adjustment needs a non-zero delta and a reason")
        if self.held + held_delta < 0 or self.entitlement + entitlement_delta < 0:
            raise InvalidInput("invalid_input", detail="adjustment would make a negative count")
        return self._entry(
            BucketEntryKind.ADJUSTMENT, held_delta, entitlement_delta, at, by, note=reason.strip()
        )

    def apply(self, entry: BucketEntry) -> BucketAccount:
        """The account after ``entry`` (which must be this customer's next entry)."""
        if entry.customer_id != self.customer_id:
            raise ValueError("entry belongs to another customer")
        if (
            entry.seq != self.last_seq + 1
            or entry.held_after != self.held + entry.held_delta
            or entry.entitlement_after != self.entitlement + entry.entitlement_delta
        ):
            raise ValueError("entry out of sequence")
        return replace(self, held=entry.held_after, entitlement=entry.entitlement_after, last_seq=entry.seq)


def replay(customer_id: int, entries: Iterable[BucketEntry]) -> BucketAccount:
    """Rebuild a customer's account from entries in ``seq`` order, checking the running state."""
    account = BucketAccount(customer_id=customer_id)
    for entry in sorted(entries, key=lambda e: e.seq):
        account = account.apply(entry)
    return account


def _positive(quantity: int) -> None:
    if isinstance(quantity, bool) or quantity <= 0:
        raise InvalidInput("bucket.bad_quantity", quantity=quantity)
