"""Water tickets (水票): balances, ledger, package sales and corrections."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from waterline.domain.tickets import TicketAccount, TicketEntry, TicketEntryKind


class TicketBalanceOut(BaseModel):
    """Balance of one account (customer x product, x station when station-specific)."""

    customer_id: int
    product_id: int
    station_id: int | None
    balance: int

    @classmethod
    def of(cls, account: TicketAccount) -> TicketBalanceOut:
        """The API view of ``account``."""
        return cls(
            customer_id=account.customer_id,
            product_id=account.product_id,
            station_id=account.station_id,
            balance=account.balance,
        )


class TicketEntryOut(BaseModel):
    """One line of the append-only ticket ledger; ``quantity`` is signed."""

    id: int | None
    customer_id: int
    product_id: int
    station_id: int | None
    kind: TicketEntryKind
    quantity: int
    balance_after: int
    seq: int
    at: datetime
    by: str
    order_id: int | None
    price_fen: int
    note: str

    @classmethod
    def of(cls, entry: TicketEntry) -> TicketEntryOut:
        """The API view of ``entry``."""
        return cls(
            id=entry.id,
            customer_id=entry.customer_id,
            product_id=entry.product_id,
            station_id=entry.station_id,
            kind=entry.kind,
            quantity=entry.quantity,
            balance_after=entry.balance_after,
            seq=entry.seq,
            at=entry.at,
            by=entry.by,
            order_id=entry.order_id,
            price_fen=entry.price_fen,
            note=entry.note,
        )


class TicketSaleIn(BaseModel):
    """A package sale: ``quantity`` tickets (bonus included) for ``price_fen``."""

    customer_id: int
    product_id: int
    quantity: int
    price_fen: int
    station_id: int | None = None
    note: str = Field(default="", max_length=200)


class TicketAdjustmentIn(BaseModel):
    """A correction of a balance by ``delta`` (never below zero), with a reason."""

    customer_id: int
    product_id: int
    delta: int
    reason: str = Field(max_length=200)
    station_id: int | None = None
