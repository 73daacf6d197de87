"""A courier's deliveries (deliveries.own): report a problem with one of his orders (配送异常).

His list and the delivering/delivered steps are the order routes (``GET /api/orders`` shows a courier
only his own orders; ``POST /api/orders/{id}/transitions`` books tickets and buckets on delivery).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from waterline.domain.deliveries import DeliveryIssue
from waterline.domain.errors import NotFound
from waterline.domain.users import Permission, User
from waterline.services.deliveries import report_issue
from waterline.web.deps import ServicesDep, UowDep
from waterline.web.routes.access import authorised
from waterline.web.routes.orders import viewer_of
from waterline.web.schemas.task import TaskOut

router = APIRouter(prefix="/api/deliveries", tags=["deliveries"])


class IssueIn(BaseModel):
    """What went wrong, and the courier's own words."""

    issue: DeliveryIssue
    note: str = Field(default="", max_length=300)


@router.post(
    "/{order_id}/issues",
    status_code=201,
    responses={
        404: {"description": "不是本人的订单 / not his order"},
        409: {"description": "已完成 / finished"},
    },
)
def report(
    order_id: int,
    body: IssueIn,
    user: Annotated[User, authorised(Permission.DELIVERIES_OWN)],
    uow: UowDep,
    services: ServicesDep,
) -> TaskOut:
    """Report a problem with one of the courier's orders; the hotline's work list gets a call-back
    task (``GET /api/tasks``) naming the order, the problem and the note."""
    with uow:
        viewer = viewer_of(uow, user)
    if viewer.courier_id is None or viewer.courier_id < 0:
        raise NotFound("courier", f"user {user.username}")
    now = datetime.fromtimestamp(services.clock(), UTC)
    return TaskOut.of(report_issue(uow, order_id, viewer.courier_id, body.issue, body.note, now=now))
