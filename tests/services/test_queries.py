import pytest

from fakes import FakeStore, FakeUnitOfWork, World
from waterline.domain.buckets import BucketAccount
from waterline.domain.commands import AddressInput, CreateCustomer, PayBucketDeposit, PlaceOrder, SellTickets
from waterline.domain.customers import Customer
from waterline.domain.errors import InvalidInput
from waterline.domain.orders import ItemRequest
from waterline.services.bus import MessageBus
from waterline.services.queries import ScreenPop, ScreenPopReader, screen_pop


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


class ReadingUnitOfWork(FakeUnitOfWork):
    """A unit of work with its own screen-pop read path, like the SQL store's."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[tuple[str, int]] = []

    def read_screen_pop(self, number: str, orders: int) -> ScreenPop | None:
        self.asked.append((number, orders))
        if number != "13991234567":
            return None
        return ScreenPop(Customer("读路径", id=7), [], [], BucketAccount(7))


def test_screen_pop_uses_the_store_read_path_when_offered() -> None:
    uow = ReadingUnitOfWork()
    assert isinstance(uow, ScreenPopReader) and not isinstance(FakeUnitOfWork(), ScreenPopReader)
    pop = screen_pop(uow, "+86 139-9123-4567")
    assert pop is not None and pop.customer.name == "读路径"
    assert screen_pop(uow, "13700000000") is None
    # the canonical number, the last five orders
    assert uow.asked == [("13991234567", 5), ("13700000000", 5)]
