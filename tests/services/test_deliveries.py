import pytest

from fakes import FakeClock, FakeStore, World
from waterline.domain.commands import AddressInput, CreateCustomer, PlaceOrder, TransitionOrder
from waterline.domain.customers import Customer
from waterline.domain.deliveries import DeliveryIssue
from waterline.domain.errors import IllegalTransition, NotFound
from waterline.domain.orders import ItemRequest, Order, OrderState
from waterline.domain.tasks import TaskKind
from waterline.services.bus import MessageBus
from waterline.services.deliveries import report_issue


def _order(bus: MessageBus, world: World) -> Order:
    customer = bus.handle(CreateCustomer(name="王女士", phones=("13991230000",),
                                         addresses=(AddressInput("西安市", "雁塔区", "科技路 2 号"),)))
    assert isinstance(customer, Customer) and customer.id is not None
    order = bus.handle(PlaceOrder(customer_id=customer.id, items=(ItemRequest(world.water, 1),)))
    assert isinstance(order, Order) and order.courier_id is not None
    return order


def test_report_leaves_a_task_and_keeps_the_order(
    bus: MessageBus, store: FakeStore, world: World, clock: FakeClock
) -> None:
    order = _order(bus, world)
    task = report_issue(store.uow(), order.id or 0, order.courier_id or 0, DeliveryIssue.WRONG_ADDRESS,
                        "楼号不对", now=clock.now())
    assert task.id is not None and store.data.tasks[task.id].kind is TaskKind.DELIVERY_ISSUE
    assert task.note == f"{order.number} 地址有误：楼号不对" and task.caller == "13991230000"
    assert store.data.orders[order.id or 0].state is OrderState.DISPATCHED


def test_only_the_courier_of_an_open_order_reports(
    bus: MessageBus, store: FakeStore, world: World, clock: FakeClock
) -> None:
    order = _order(bus, world)
    other = world.zhao if order.courier_id != world.zhao else world.wang
    with pytest.raises(NotFound):
        report_issue(store.uow(), order.id or 0, other, DeliveryIssue.REFUSED, "", now=clock.now())
    with pytest.raises(NotFound):
        report_issue(store.uow(), 999, order.courier_id or 0, DeliveryIssue.REFUSED, "", now=clock.now())
    bus.handle(TransitionOrder(order.id or 0, OrderState.DELIVERING))
    bus.handle(TransitionOrder(order.id or 0, OrderState.DELIVERED))
    courier = order.courier_id or 0
    with pytest.raises(IllegalTransition):
        report_issue(store.uow(), order.id or 0, courier, DeliveryIssue.REFUSED, "", now=clock.now())
    assert not store.data.tasks
