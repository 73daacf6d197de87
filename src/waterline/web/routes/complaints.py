"""Complaint tickets from the console: an agent files one (calls.handle) and sees a customer's
latest ones on his card (customers.read). The full list is ``GET /api/complaints`` (complaints.read)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from waterline.domain.errors import found
from waterline.domain.users import Permission, User
from waterline.services.complaints import MAX_NOTE, MAX_REASON, file_complaint
from waterline.web.deps import ServicesDep, UowDep
from waterline.web.routes.access import authorised
from waterline.web.schemas.task import ComplaintOut

router = APIRouter(tags=["tasks"])


class ComplaintIn(BaseModel):
    """A complaint as the agent files it; ``caller`` defaults to the customer's first phone."""

    reason: str = Field(min_length=1, max_length=MAX_REASON)
    note: str = Field(default="", max_length=MAX_NOTE)
    caller: str = Field(default="", max_length=40)
    customer_id: int | None = None
    call_id: str | None = Field(default=None, max_length=200)


@router.post("/api/complaints", status_code=201)
def create_complaint(
    body: ComplaintIn,
    _user: Annotated[User, authorised(Permission.CALLS_HANDLE)],
    uow: UowDep,
    services: ServicesDep,
) -> ComplaintOut:
    """File a complaint ticket (422 for a bad phone or reason, 404 for an unknown customer)."""
    ticket = file_complaint(
        uow, reason=body.reason, note=body.note, caller=body.caller, customer_id=body.customer_id,
        call_id=body.call_id, now=datetime.fromtimestamp(services.clock(), UTC),
    )
    return ComplaintOut.of(ticket)


@router.get("/api/customers/{customer_id}/complaints")
def customer_complaints(
    customer_id: int,
    _user: Annotated[User, authorised(Permission.CUSTOMERS_READ)],
    uow: UowDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 5,
) -> list[ComplaintOut]:
    """A customer's latest complaints, newest first (404 for an unknown customer)."""
    with uow:
        found(uow.customers.get(customer_id), "customer", customer_id)
        return [ComplaintOut.of(c) for c in uow.complaints.search(customer_id=customer_id, limit=limit)]
