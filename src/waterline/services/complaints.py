"""Complaint tickets an agent files from the console (the IVR files its own in ``services.ivr``)."""

from __future__ import annotations

from datetime import datetime

from waterline.domain import phones
from waterline.domain.errors import InvalidInput, found
from waterline.domain.tasks import Complaint
from waterline.services.ports import UnitOfWork

MAX_REASON = 50
MAX_NOTE = 1000


def file_complaint(
    uow: UnitOfWork,
    *,
    reason: str,
    note: str = "",
    caller: str = "",
    customer_id: int | None = None,
    call_id: str | None = None,
    now: datetime,
) -> Complaint:
    """Store a complaint ticket: ``reason`` (required), the agent's ``note``, the customer it is about
    (NotFound when unknown) and the call it came from. The caller's number defaults to the customer's
    first phone; a number that is given must be a phone (InvalidInput otherwise)."""
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(
            "invalid_input",
            detail=f"投诉原因须为 1–{MAX_REASON} 个字 / reason must be 1-{MAX_REASON} characters",
        )
    if len(note) > MAX_NOTE:
        raise InvalidInput(
            "invalid_input", detail=f"说明最多 {MAX_NOTE} 个字 / note must be at most {MAX_NOTE} characters"
        )
    number = phones.normalise(caller) if caller.strip() else ""
    with uow:
        if customer_id is not None:
            customer = found(uow.customers.get(customer_id), "customer", customer_id)
            if not number and customer.phones:
                number = customer.phones[0].number
        ticket = uow.complaints.add(
            Complaint(
                reason=reason, caller=number, created_at=now, call_id=call_id or None,
                customer_id=customer_id, note=note.strip(),
            )
        )
        uow.commit()
    return ticket
