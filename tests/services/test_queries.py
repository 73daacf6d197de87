import pytest

from fakes import FakeStore, World
from waterline.domain.commands import AddressInput, CreateCustomer, PayBucketDeposit, PlaceOrder, SellTickets
from waterline.domain.errors import InvalidInput
from waterline.domain.orders import ItemRequest
from waterline.services.bus import MessageBus
from waterline.services.queries import screen_pop


def test_screen_pop_by_any_phone_form(bus: MessageBus, store: FakeStore, world: World) -> None:
    customer = bus.handle(
        CreateCustomer(
            name="陈女士",
            phones=("13991234567", "029-8888 1234"),
            addresses=(AddressInput("西安市", "未央区", "凤城八路 99 号"),),
        )
    )
    cid = customer.id
    bus.handle(SellTickets(cid, world.water, quantity=10, price_fen=18000))
    bus.handle(PayBucketDeposit(cid, quantity=2, amount_fen=6000))
    numbers = [bus.handle(PlaceOrder(cid, (ItemRequest(world.water, 1),))).number for _ in range(7)]
    pop = screen_pop(store.uow(), "+86 29 8888 1234")
    assert pop is not None
    assert pop.customer.name == "陈女士" and pop.customer.addresses[0].district == "未央区"
    assert [o.number for o in pop.last_orders] == numbers[:1:-1]  # last 5, newest first
    assert [(t.product_id, t.balance) for t in pop.tickets] == [(world.water, 10)]
    assert (pop.buckets.entitlement, pop.buckets.held) == (2, 0)


def test_screen_pop_unknown_and_invalid(store: FakeStore) -> None:
    assert screen_pop(store.uow(), "13700000000") is None
    with pytest.raises(InvalidInput):
        screen_pop(store.uow(), "not a phone")
