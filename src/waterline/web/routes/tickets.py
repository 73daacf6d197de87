"""Water tickets (水票): balances and ledger (tickets.read), package sales (tickets.sell) and
corrections (dispatchers and up, like bucket corrections)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from waterline.domain.commands import AdjustTickets, SellTickets
from waterline.domain.errors import NotFound
from waterline.domain.tickets import TicketEntry
from waterline.domain.users import Permission, User
from waterline.web.deps import BusDep, UowDep
from waterline.web.routes.access import authorised
from waterline.web.schemas.ticket import TicketAdjustmentIn, TicketBalanceOut, TicketEntryOut, TicketSaleIn

router = APIRouter(prefix="/api/tickets", tags=["tickets"])

# Corrections change what a customer owns without a sale; they need the ledger-correction right that
# dispatchers and managers have for buckets, not just the agent's right to sell.
CORRECT_LEDGERS = Permission.BUCKETS_WRITE


@router.get("")
def ticket_balances(
    _user: Annotated[User, authorised(Permission.TICKETS_READ)],
    uow: UowDep,
    customer_id: Annotated[int, Query(description="客户 / customer")],
) -> list[TicketBalanceOut]:
    """The customer's ticket balances per product (and station, for station tickets)."""
    with uow:
        if uow.customers.get(customer_id) is None:
            raise NotFound("customer", customer_id)
        return [TicketBalanceOut.of(a) for a in uow.tickets.accounts(customer_id)]


@router.get("/ledger")
def ticket_ledger(
    _user: Annotated[User, authorised(Permission.TICKETS_READ)],
    uow: UowDep,
    customer_id: Annotated[int, Query(description="客户 / customer")],
    product_id: Annotated[int | None, Query(description="商品 / product")] = None,
) -> list[TicketEntryOut]:
    """Every ledger line of the customer (of one product when given), oldest first."""
    with uow:
        if uow.customers.get(customer_id) is None:
            raise NotFound("customer", customer_id)
        return [TicketEntryOut.of(e) for e in uow.tickets.entries(customer_id, product_id)]


@router.post("/sales", status_code=201)
def sell_tickets(
    body: TicketSaleIn, user: Annotated[User, authorised(Permission.TICKETS_SELL)], bus: BusDep
) -> TicketEntryOut:
    """Sell a package: ``quantity`` tickets (bonus included) for ``price_fen``, general or for one station."""
    entry: TicketEntry = bus.handle(
        SellTickets(
            customer_id=body.customer_id,
            product_id=body.product_id,
            quantity=body.quantity,
            price_fen=body.price_fen,
            station_id=body.station_id,
            note=body.note,
            by=str(user.id),
        )
    )
    return TicketEntryOut.of(entry)


@router.post("/adjustments", status_code=201)
def adjust_tickets(
    body: TicketAdjustmentIn, user: Annotated[User, authorised(CORRECT_LEDGERS)], bus: BusDep
) -> TicketEntryOut:
    """Correct a balance by ``delta`` with a reason; never below zero (409)."""
    entry: TicketEntry = bus.handle(
        AdjustTickets(
            customer_id=body.customer_id,
            product_id=body.product_id,
            delta=body.delta,
            reason=body.reason,
            station_id=body.station_id,
            by=str(user.id),
        )
    )
    return TicketEntryOut.of(entry)
