"""Buckets (押桶/空桶): position and ledger (buckets.read); deposits, refunds, corrections and
collections (buckets.write)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from waterline.domain.buckets import BucketEntry
from waterline.domain.commands import AdjustBuckets, CollectEmpties, PayBucketDeposit, RefundBucketDeposit
from waterline.domain.errors import NotFound
from waterline.domain.users import Permission, User
from waterline.web.deps import BusDep, UowDep
from waterline.web.routes.access import authorised
from waterline.web.schemas.bucket import (
    BucketAdjustmentIn,
    BucketBalanceOut,
    BucketEntryOut,
    CollectionIn,
    DepositIn,
)

router = APIRouter(prefix="/api/buckets", tags=["buckets"])

CustomerQuery = Annotated[int, Query(description="客户 / customer")]
Writer = Annotated[User, authorised(Permission.BUCKETS_WRITE)]


@router.get("")
def bucket_balance(
    _user: Annotated[User, authorised(Permission.BUCKETS_READ)], uow: UowDep, customer_id: CustomerQuery
) -> BucketBalanceOut:
    """Held, deposit entitlement, over and debt (欠桶) of one customer."""
    with uow:
        if uow.customers.get(customer_id) is None:
            raise NotFound("customer", customer_id)
        return BucketBalanceOut.of(uow.buckets.account(customer_id))


@router.get("/ledger")
def bucket_ledger(
    _user: Annotated[User, authorised(Permission.BUCKETS_READ)], uow: UowDep, customer_id: CustomerQuery
) -> list[BucketEntryOut]:
    """Every bucket ledger line of the customer, oldest first."""
    with uow:
        if uow.customers.get(customer_id) is None:
            raise NotFound("customer", customer_id)
        return [BucketEntryOut.of(e) for e in uow.buckets.entries(customer_id)]


@router.post("/deposits", status_code=201)
def pay_deposit(body: DepositIn, user: Writer, bus: BusDep) -> BucketEntryOut:
    """Deposit paid for ``quantity`` buckets."""
    entry: BucketEntry = bus.handle(
        PayBucketDeposit(body.customer_id, body.quantity, body.amount_fen, body.note, str(user.id))
    )
    return BucketEntryOut.of(entry)


@router.post("/refunds", status_code=201)
def refund_deposit(body: DepositIn, user: Writer, bus: BusDep) -> BucketEntryOut:
    """Deposit paid back for ``quantity`` buckets (not more than the deposit held: 422)."""
    entry: BucketEntry = bus.handle(
        RefundBucketDeposit(body.customer_id, body.quantity, body.amount_fen, body.note, str(user.id))
    )
    return BucketEntryOut.of(entry)


@router.post("/adjustments", status_code=201)
def adjust_buckets(body: BucketAdjustmentIn, user: Writer, bus: BusDep) -> BucketEntryOut:
    """Stock-take correction of held buckets and/or entitlement, with a reason."""
    entry: BucketEntry = bus.handle(
        AdjustBuckets(body.customer_id, body.held_delta, body.entitlement_delta, body.reason, str(user.id))
    )
    return BucketEntryOut.of(entry)


@router.post("/collections", status_code=201)
def collect_empties(body: CollectionIn, user: Writer, bus: BusDep) -> BucketEntryOut:
    """Empties picked up outside a delivery (not more than the customer holds: 422)."""
    entry: BucketEntry = bus.handle(
        CollectEmpties(body.customer_id, body.quantity, by=str(user.id), order_id=body.order_id)
    )
    return BucketEntryOut.of(entry)
