"""A courier's own deliveries: reporting a problem with one of them (配送异常)."""

from __future__ import annotations

from datetime import datetime

from waterline.domain.deliveries import DeliveryIssue, issue_task
from waterline.domain.errors import NotFound, found
from waterline.domain.tasks import Task
from waterline.services.ports import UnitOfWork

__all__ = ["report_issue"]


def report_issue(
    uow: UnitOfWork, order_id: int, courier_id: int, issue: DeliveryIssue, note: str, *, now: datetime
) -> Task:
    """Leave a call-back task about ``order_id``, which must be ``courier_id``'s and with him (404 for
    another courier's order, 409 once delivered or cancelled). The order itself stays as it is: the
    dispatcher decides (reassign, cancel) after the call."""
    with uow:
        order = uow.orders.get(order_id)
        if order is None or order.courier_id != courier_id:
            raise NotFound("order", order_id)
        customer = found(uow.customers.get(order.customer_id), "customer", order.customer_id)
        task = uow.tasks.add(issue_task(order, customer, issue, note, now))
        uow.commit()
    return task
