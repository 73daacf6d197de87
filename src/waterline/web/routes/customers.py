"""Customers: search, the screen-pop lookup by phone, read (customers.read); create and change
(customers.write)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from waterline.domain import phones
from waterline.domain.commands import CreateCustomer, UpdateCustomer
from waterline.domain.customers import Customer
from waterline.domain.errors import InvalidInput, NotFound
from waterline.domain.users import Permission, User
from waterline.services.queries import screen_pop
from waterline.web.deps import BusDep, UowDep
from waterline.web.routes.access import authorised
from waterline.web.schemas.customer import CustomerIn, CustomerOut, CustomerPatch
from waterline.web.schemas.lookup import CustomerLookupOut

router = APIRouter(prefix="/api/customers", tags=["customers"])

MAX_PAGE = 500


def phone_prefix(raw: str) -> str:
    """What to match phones against: the canonical number when ``raw`` is a whole one, else its digits
    (so ``139 1234`` finds every number starting 1391234); ``InvalidInput`` when it has no digits."""
    try:
        return phones.normalise(raw)
    except InvalidInput:
        digits = "".join(ch for ch in raw if ch.isdigit())
        if not digits:
            raise
        # "+86 139..." and "0086 139..." typed while searching
        for prefix in ("0086", "86"):
            if digits.startswith(prefix) and len(digits) > len(prefix) + 2:
                return digits[len(prefix) :]
        return digits


@router.get("")
def list_customers(
    _user: Annotated[User, authorised(Permission.CUSTOMERS_READ)],
    uow: UowDep,
    phone: Annotated[
        str | None, Query(max_length=40, description="电话或号码开头 / phone or its start")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="姓名或地址包含 / name or address contains")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[CustomerOut]:
    """Customers matching the phone (prefix) and/or text, by id."""
    prefix = phone_prefix(phone) if phone and phone.strip() else None
    with uow:
        found = uow.customers.search(q=q.strip() if q else None, phone=prefix, limit=limit, offset=offset)
        return [CustomerOut.of(c) for c in found]


@router.get("/lookup")
async def lookup_customer(
    _user: Annotated[User, authorised(Permission.CUSTOMERS_READ)],
    uow: UowDep,
    phone: Annotated[str, Query(min_length=1, max_length=40, description="来电号码 / caller's number")],
) -> CustomerLookupOut:
    """The screen-pop: the caller's customer with addresses, last 5 orders, ticket and bucket balances.

    404 when no customer has this number, 422 when it is not a phone number at all.
    """

    def look_up() -> CustomerLookupOut:
        pop = screen_pop(uow, phone)
        if pop is None:
            raise NotFound("customer", phones.normalise(phone))
        return CustomerLookupOut.of_screen_pop(pop)

    # Async with only the store read in the threadpool: a sync route costs two thread hops (the
    # route, then FastAPI's validation of its answer), and every incoming call runs this one.
    return await run_in_threadpool(look_up)


@router.get("/{customer_id}")
def get_customer(
    customer_id: int, _user: Annotated[User, authorised(Permission.CUSTOMERS_READ)], uow: UowDep
) -> CustomerOut:
    """One customer (404 when unknown)."""
    with uow:
        customer = uow.customers.get(customer_id)
        if customer is None:
            raise NotFound("customer", customer_id)
        return CustomerOut.of(customer)


@router.post("", status_code=201)
def create_customer(
    body: CustomerIn, user: Annotated[User, authorised(Permission.CUSTOMERS_WRITE)], bus: BusDep
) -> CustomerOut:
    """Register a customer (422 for a bad phone or unknown district, 409 when a phone is taken)."""
    created: Customer = bus.handle(
        CreateCustomer(
            name=body.name,
            phones=tuple(body.phones),
            addresses=tuple(a.to_command() for a in body.addresses),
            tier=body.tier,
            tags=tuple(body.tags),
            notes=body.notes,
            preferences=body.preferences.to_command() if body.preferences else None,
            enterprise=body.enterprise.to_command() if body.enterprise else None,
            by=str(user.id),
        )
    )
    return CustomerOut.of(created)


@router.patch("/{customer_id}")
def change_customer(
    customer_id: int,
    body: CustomerPatch,
    user: Annotated[User, authorised(Permission.CUSTOMERS_WRITE)],
    bus: BusDep,
) -> CustomerOut:
    """Change a customer: name, tier, tags, notes, preferences; add or remove phones; add addresses."""
    changed: Customer = bus.handle(
        UpdateCustomer(
            customer_id=customer_id,
            name=body.name,
            add_phones=tuple(body.add_phones),
            remove_phones=tuple(body.remove_phones),
            add_addresses=tuple(a.to_command() for a in body.add_addresses),
            tier=body.tier,
            tags=tuple(body.tags) if body.tags is not None else None,
            notes=body.notes,
            preferences=body.preferences.to_command() if body.preferences else None,
            enterprise=body.enterprise.to_command() if body.enterprise else None,
            by=str(user.id),
        )
    )
    return CustomerOut.of(changed)
