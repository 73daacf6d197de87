"""Buckets (押桶/空桶): positions, ledger, deposits, refunds, corrections and collections."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from waterline.domain.buckets import BucketAccount, BucketEntry, BucketEntryKind


class BucketBalanceOut(BaseModel):
    """A customer's buckets: ``held = entitlement + over``; ``debt`` (欠桶) is ``max(0, over)``."""

    customer_id: int
    held: int
    entitlement: int
    over: int
    debt: int

    @classmethod
    def of(cls, account: BucketAccount) -> BucketBalanceOut:
        """The API view of ``account``."""
        return cls(
            customer_id=account.customer_id,
            held=account.held,
            entitlement=account.entitlement,
            over=account.over,
            debt=account.debt,
        )


class BucketEntryOut(BaseModel):
    """One line of the append-only bucket ledger."""

    id: int | None
    customer_id: int
    kind: BucketEntryKind
    held_delta: int
    entitlement_delta: int
    held_after: int
    entitlement_after: int
    seq: int
    at: datetime
    by: str
    order_id: int | None
    amount_fen: int
    note: str

    @classmethod
    def of(cls, entry: BucketEntry) -> BucketEntryOut:
        """The API view of ``entry``."""
        return cls(
            id=entry.id,
            customer_id=entry.customer_id,
            kind=entry.kind,
            held_delta=entry.held_delta,
            entitlement_delta=entry.entitlement_delta,
            held_after=entry.held_after,
            entitlement_after=entry.entitlement_after,
            seq=entry.seq,
            at=entry.at,
            by=entry.by,
            order_id=entry.order_id,
            amount_fen=entry.amount_fen,
            note=entry.note,
        )


class DepositIn(BaseModel):
    """A deposit paid (or refunded) for ``quantity`` buckets."""

    customer_id: int
    quantity: int
    amount_fen: int
    note: str = Field(default="", max_length=200)


class BucketAdjustmentIn(BaseModel):
    """A stock-take correction of held buckets and/or deposit entitlement, with a reason."""

    customer_id: int
    held_delta: int = 0
    entitlement_delta: int = 0
    reason: str = Field(max_length=200)


class CollectionIn(BaseModel):
    """Empties picked up outside a delivery."""

    customer_id: int
    quantity: int
    order_id: int | None = None
