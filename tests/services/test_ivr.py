"""Business answers of call flows on the fake store: reorder through the bus, order status,
complaint tickets and missed-call tasks linked to the call."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from fakes import FakeClock, FakeStore, World
from waterline.domain.commands import AddressInput, CreateCustomer, PlaceOrder, PreferencesInput, SellTickets
from waterline.domain.errors import InvalidInput, NotFound
from waterline.domain.orders import Channel, ItemRequest, OrderState
from waterline.domain.tasks import TaskKind
from waterline.services.bus import MessageBus
from waterline.services.ivr import IvrDesk


def _identify(caller: str, did: str, region: str | None = None) -> Mapping[str, object]:
    return {"caller": caller, "did": did, "region": region, "customer_id": None}


def _clock(station_id: int | None) -> Mapping[str, object]:
    return {"station_id": station_id, "open": True}


@pytest.fixture
def desk(store: FakeStore, bus: MessageBus, clock: FakeClock) -> IvrDesk:
    return IvrDesk(store.uow, bus, clock, identify=_identify, station_clock=_clock)


def _customer(bus: MessageBus, world: World, *, usual: bool = True) -> int:
    customer = bus.handle(CreateCustomer(
        name="王芳", phones=("13991234567",), addresses=(AddressInput("西安市", "雁塔区", "小寨东路 1 号"),),
        preferences=PreferencesInput(usual_product_id=world.water, usual_quantity=2) if usual else None,
    ))
    assert customer.id is not None
    return int(customer.id)


def test_reorder_places_the_usual_order_by_ivr_and_reads_it_back(
    desk: IvrDesk, bus: MessageBus, world: World, store: FakeStore
) -> None:
    cid = _customer(bus, world)
    result = desk.answer("reorder", {"customer_id": cid, "call_id": "c-1"})
    with store.uow() as uow:
        order = uow.orders.get(int(str(result["order_id"])))
    assert order is not None
    assert order.channel is Channel.IVR
    assert [(i.product_id, i.quantity) for i in order.items] == [(world.water, 2)]
    assert result["number"] == order.number
    assert result["station_id"] == world.yanta == order.station_id  # dispatched at once
    assert isinstance(result["eta_text"], str) and result["eta_text"]
    assert not order.pay_with_tickets and "c-1" in order.note


def test_reorder_pays_with_tickets_when_the_balance_covers_it(
    desk: IvrDesk, bus: MessageBus, world: World
) -> None:
    cid = _customer(bus, world)
    bus.handle(SellTickets(cid, world.water, quantity=10, price_fen=18000))
    result = desk.answer("reorder", {"customer_id": str(cid)})
    assert result["paid_with_tickets"] is True
    assert result["ticket_balance"] == 8


def test_reorder_without_a_usual_order_repeats_the_last_one(
    desk: IvrDesk, bus: MessageBus, world: World
) -> None:
    cid = _customer(bus, world, usual=False)
    with pytest.raises(InvalidInput):
        desk.answer("reorder", {"customer_id": cid})
    bus.handle(PlaceOrder(cid, (ItemRequest(world.other_water, 3),)))
    result = desk.answer("reorder", {"customer_id": cid})
    assert result["quantity"] == 3


def test_reorder_needs_a_known_customer(desk: IvrDesk) -> None:
    with pytest.raises(InvalidInput):
        desk.answer("reorder", {"customer_id": None})
    with pytest.raises(NotFound):
        desk.answer("reorder", {"customer_id": 999})


def test_order_status_reads_the_newest_open_order(desk: IvrDesk, bus: MessageBus, world: World) -> None:
    cid = _customer(bus, world)
    assert desk.answer("order_status", {"customer_id": cid})["number"] is None
    assert desk.answer("order_status", {"customer_id": None})["number"] is None
    order = bus.handle(PlaceOrder(cid, (ItemRequest(world.water, 1),)))
    status = desk.answer("order_status", {"customer_id": cid})
    assert status["number"] == order.number
    assert order.state is OrderState.DISPATCHED
    assert status["state_text"] == "已派单，送水师傅即将出发"


def test_complaint_and_missed_call_are_linked_to_the_call(
    desk: IvrDesk, store: FakeStore, clock: FakeClock
) -> None:
    ticket = desk.answer("complaint", {"reason": "水质问题", "customer_id": 7, "call_id": "c-9",
                                       "caller": "13991234567"})
    task = desk.answer("missed_call", {"recording_id": 12, "call_id": "c-9", "caller": "13991234567"})
    with store.uow() as uow:
        complaint = uow.complaints.get(int(str(ticket["ticket_id"])))
        todo = uow.tasks.get(int(str(task["task_id"])))
    assert complaint is not None and todo is not None
    assert (complaint.reason, complaint.call_id, complaint.customer_id) == ("水质问题", "c-9", 7)
    assert complaint.created_at == clock.now()
    assert (todo.kind, todo.recording_id, todo.call_id, todo.caller) == (TaskKind.MISSED_CALL, 12, "c-9",
                                                                          "13991234567")
    assert todo.customer_id is None  # nobody owns that number


def test_a_missed_call_task_names_the_callers_customer(
    desk: IvrDesk, bus: MessageBus, world: World, store: FakeStore
) -> None:
    cid = _customer(bus, world)
    task = desk.answer("missed_call", {"recording_id": 3, "caller": "+86 139 9123 4567"})
    anonymous = desk.answer("missed_call", {"recording_id": 4, "caller": "anonymous"})
    with store.uow() as uow:
        todo, other = uow.tasks.get(int(str(task["task_id"]))), uow.tasks.get(int(str(anonymous["task_id"])))
    assert todo is not None and todo.customer_id == cid
    assert other is not None and other.customer_id is None


def test_identify_and_clock_go_to_their_ports_and_unknown_kinds_fail(desk: IvrDesk) -> None:
    assert desk.answer("identify", {"caller": "0917", "did": "400"}) == {
        "caller": "0917", "did": "400", "region": None, "customer_id": None}
    # the city a caller chose in the flow's city menu reaches the identifier
    chosen = desk.answer("identify", {"caller": "029", "did": "400", "region_city": "咸阳市"})
    assert chosen["region"] == "咸阳市"
    assert desk.answer("clock", {"station_id": "3"}) == {"station_id": 3, "open": True}
    with pytest.raises(LookupError):
        desk.answer("transfer", {})
