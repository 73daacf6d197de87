"""What a courier reports when a delivery does not go as planned (配送异常), and the call-back task
it leaves for the hotline: an agent or dispatcher rings the customer and sorts it out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

from waterline.domain.customers import Customer
from waterline.domain.errors import IllegalTransition
from waterline.domain.orders import WITH_COURIER, Order
from waterline.domain.tasks import Task, TaskKind

__all__ = ["ISSUE_NAMES_ZH", "DeliveryIssue", "issue_task"]


class DeliveryIssue(StrEnum):
    """Why a delivery is stuck."""

    NOT_HOME = "not_home"
    WRONG_ADDRESS = "wrong_address"
    REFUSED = "refused"
    NO_STOCK = "no_stock"
    OTHER = "other"


ISSUE_NAMES_ZH: Mapping[DeliveryIssue, str] = {
    DeliveryIssue.NOT_HOME: "客户不在家",
    DeliveryIssue.WRONG_ADDRESS: "地址有误",
    DeliveryIssue.REFUSED: "客户拒收",
    DeliveryIssue.NO_STOCK: "缺货",
    DeliveryIssue.OTHER: "其他",
}


def issue_task(order: Order, customer: Customer, issue: DeliveryIssue, note: str, at: datetime) -> Task:
    """The call-back task of a problem with ``order`` (which must be with its courier): the customer's
    first phone to ring, and a note naming the order, the problem and the courier's words."""
    if order.state not in WITH_COURIER:
        raise IllegalTransition(
            "order.illegal_transition",
            number=order.number,
            from_state=order.state.value,
            to_state=issue.value,
        )
    words = note.strip()
    text = f"{order.number} {ISSUE_NAMES_ZH[issue]}" + (f"：{words}" if words else "")
    return Task(
        kind=TaskKind.DELIVERY_ISSUE,
        caller=customer.phone_numbers[0] if customer.phones else "",
        created_at=at,
        customer_id=customer.id,
        note=text,
    )
