from datetime import UTC, datetime

import pytest

from waterline.domain.customers import Customer, CustomerPhone
from waterline.domain.deliveries import ISSUE_NAMES_ZH, DeliveryIssue, issue_task
from waterline.domain.errors import IllegalTransition
from waterline.domain.orders import Channel, Order, OrderItem, OrderState, new_order
from waterline.domain.tasks import TaskKind, TaskState

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _order(state: OrderState) -> Order:
    order = new_order(number="SX20261125-0007", customer_id=3, address_id=4, channel=Channel.AGENT,
                      items=[OrderItem(1, 2, 2000)], at=T0, by="7")
    order.state = state
    return order


def test_every_issue_has_a_chinese_name() -> None:
    assert set(ISSUE_NAMES_ZH) == set(DeliveryIssue)


@pytest.mark.parametrize("state", [OrderState.DISPATCHED, OrderState.DELIVERING])
def test_issue_task_names_order_problem_and_note(state: OrderState) -> None:
    customer = Customer("张伟", phones=[CustomerPhone("13912345678"), CustomerPhone("02988881234")], id=3)
    task = issue_task(_order(state), customer, DeliveryIssue.NOT_HOME, "  敲门无人应答 ", T0)
    assert (task.kind, task.state, task.caller, task.customer_id) == (
        TaskKind.DELIVERY_ISSUE, TaskState.OPEN, "13912345678", 3,
    )
    assert task.note == "SX20261125-0007 客户不在家：敲门无人应答" and task.created_at == T0
    assert issue_task(_order(state), customer, DeliveryIssue.OTHER, " ", T0).note == "SX20261125-0007 其他"


@pytest.mark.parametrize("state", [OrderState.PLACED, OrderState.DELIVERED, OrderState.CANCELLED])
def test_no_issue_for_an_order_not_with_the_courier(state: OrderState) -> None:
    with pytest.raises(IllegalTransition):
        issue_task(_order(state), Customer("张伟", id=3), DeliveryIssue.REFUSED, "", T0)
