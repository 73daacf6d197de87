"""Water tickets (水票): prepaid delivery units per customer x product (x station when station-specific).

The ledger is append-only: a sale, a consumption or an adjustment is a new ``TicketEntry``; balances
are never updated in place. Each entry carries the account's running ``balance_after`` and a per-account
``seq`` so the store can make (account, seq) unique: two concurrent spends of the same balance then
collide instead of overdrawing.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from waterline.domain.errors import InvalidInput, TicketOverdraw


class TicketEntryKind(enum.StrEnum):
    """Kinds of ledger entry."""

    SALE = "sale"
    CONSUMPTION = "consumption"
    ADJUSTMENT = "adjustment"


@dataclass(frozen=True)
class TicketEntry:
    """One immutable ledger line; ``quantity`` is signed (+ sale, - consumption, +/- adjustment)."""

    customer_id: int
    product_id: int
    station_id: int | None
    kind: TicketEntryKind
    quantity: int
    balance_after: int
    seq: int
    at: datetime
    by: str
    order_id: int | None = None
    price_fen: int = 0  # money received for a sale
    note: str = ""
    id: int | None = None


@dataclass(frozen=True)
class TicketAccount:
    """The state of one account as of its last entry (``last_seq`` 0 = no entries yet)."""

    customer_id: int
    product_id: int
    station_id: int | None = None
    balance: int = 0
    last_seq: int = 0

    def _entry(
        self, kind: TicketEntryKind, delta: int, at: datetime, by: str, **extra: object
    ) -> TicketEntry:
        return TicketEntry(
            customer_id=self.customer_id,
            product_id=self.product_id,
            station_id=self.station_id,
            kind=kind,
            quantity=delta,
            balance_after=self.balance + delta,
            seq=self.last_seq + 1,
            at=at.astimezone(UTC),
            by=by,
            **extra,  # type: ignore[arg-type]
        )

    def sell(self, quantity: int, price_fen: int, at: datetime, by: str, note: str = "") -> TicketEntry:
        """A package sale of ``quantity`` tickets (bonus tickets included) for ``price_fen``."""
        _positive(quantity)
        if price_fen < 0:
            raise InvalidInput("product.bad_price", price_fen=price_fen)
        return self._entry(TicketEntryKind.SALE, quantity, at, by, price_fen=price_fen, note=note)

    def consume(self, quantity: int, order_id: int | None, at: datetime, by: str) -> TicketEntry:
        """Spend tickets on a delivery; refuses to overdraw."""
        _positive(quantity)
        if quantity > self.balance:
            raise TicketOverdraw("ticket.overdraw", needed=quantity, balance=self.balance)
        return self._entry(TicketEntryKind.CONSUMPTION, -quantity, at, by, order_id=order_id)

    def adjust(self, delta: int, reason: str, at: datetime, by: str) -> TicketEntry:
        """A correction by staff, with a reason; cannot take the balance below zero."""
        if delta == 0 or not reason.strip():
            raise InvalidInput("invalid_input", detail="adjustment needs a non-zero delta and a reason")
        if self.balance + delta < 0:
            raise TicketOverdraw("ticket.overdraw", needed=-delta, balance=self.balance)
        return self._entry(TicketEntryKind.ADJUSTMENT, delta, at, by, note=reason.strip())

    def apply(self, entry: TicketEntry) -> TicketAccount:
        """The account after ``entry`` (which must be this account's next entry)."""
        if (entry.customer_id, entry.product_id, entry.station_id) != (
            self.customer_id,
            self.product_id,
            self.station_id,
        ):
            raise ValueError("entry belongs to another account")
        if entry.seq != self.last_seq + 1 or entry.balance_after != self.balance + entry.quantity:
            raise ValueError("entry out of sequence")
        return replace(self, balance=entry.balance_after, last_seq=entry.seq)


def replay(
    customer_id: int, product_id: int, station_id: int | None, entries: Iterable[TicketEntry]
) -> TicketAccount:
    """Rebuild an account from its entries in ``seq`` order, checking the running balances."""
    account = TicketAccount(customer_id=customer_id, product_id=product_id, station_id=station_id)
    for entry in sorted(entries, key=lambda e: e.seq):
        account = account.apply(entry)
    return account


def plan_consumption(
    accounts: Sequence[TicketAccount], quantity: int, order_id: int | None, at: datetime, by: str
) -> list[TicketEntry]:
    """Spend ``quantity`` tickets from ``accounts`` in the given preference order.

    The caller lists the station-specific account of the delivering station first and the general
    account after, so station tickets are used before general ones. Refuses (``TicketOverdraw``)
    when all of them together do not cover the quantity; nothing is spent in that case.
    """
    _positive(quantity)
    total = sum(a.balance for a in accounts)
    if quantity > total:
        raise TicketOverdraw("ticket.overdraw", needed=quantity, balance=total)
    entries: list[TicketEntry] = []
    remaining = quantity
    for account in accounts:
        take = min(remaining, account.balance)
        if take > 0:
            entries.append(account.consume(take, order_id, at, by))
            remaining -= take
        if remaining == 0:
            break
    return entries


def _positive(quantity: int) -> None:
    if isinstance(quantity, bool) or quantity <= 0:
        raise InvalidInput("ticket.bad_quantity", quantity=quantity)
