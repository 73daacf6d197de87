"""Read-side queries that combine several repositories (no writes, no events)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from waterline.domain import phones
from waterline.domain.buckets import BucketAccount
from waterline.domain.customers import Customer
from waterline.domain.orders import Order
from waterline.domain.tickets import TicketAccount
from waterline.services.ports import UnitOfWork

SCREEN_POP_ORDERS = 5


@dataclass(frozen=True)
class ScreenPop:
    """Everything an agent sees when a known caller rings: the customer (with phones and addresses),
    the last orders, ticket balances per product (x station) and the bucket position.

    ``last_orders`` are summaries, newest first, with their items; their ``transitions`` may be
    empty (a store's fast read path skips them): load the order itself for its history.
    """

    customer: Customer
    last_orders: list[Order]
    tickets: list[TicketAccount]
    buckets: BucketAccount


@runtime_checkable
class ScreenPopReader(Protocol):
    """A unit of work that answers the screen-pop itself, in fewer round trips than its repositories.

    Optional: ``screen_pop`` uses it when the unit of work offers it (the SQL store does) and falls
    back to the repositories otherwise (the in-memory fakes). Called inside ``with uow:``.
    """

    def read_screen_pop(self, number: str, orders: int) -> ScreenPop | None:
        """The screen-pop of the customer owning the canonical ``number``, or None."""
        ...


def screen_pop(uow: UnitOfWork, phone: str) -> ScreenPop | None:
    """Look a caller up by any phone form; None when unknown, ``InvalidInput`` when not a phone."""
    number = phones.normalise(phone)
    if isinstance(uow, ScreenPopReader):
        with uow:
            return uow.read_screen_pop(number, SCREEN_POP_ORDERS)
    with uow:
        customer = uow.customers.find_by_phone(number)
        if customer is None or customer.id is None:
            return None
        return ScreenPop(
            customer=customer,
            last_orders=uow.orders.recent_for_customer(customer.id, SCREEN_POP_ORDERS),
            tickets=uow.tickets.accounts(customer.id),
            buckets=uow.buckets.account(customer.id),
        )
