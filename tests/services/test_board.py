from datetime import datetime, timedelta

from fakes import FakeClock, FakeStore, World
from waterline.domain.commands import AddressInput, CreateCustomer, PlaceOrder
from waterline.domain.customers import Customer
from waterline.domain.orders import ItemRequest, Order, OrderState
from waterline.services.board import LATE_COMMIT, board, changes, is_overdue
from waterline.services.bus import MessageBus


class ListFeed:
    """A feed over an explicit list of (transition id, order id, recorded at)."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, int, datetime]] = []
        self.asked: list[tuple[int, datetime]] = []

    def cursor(self) -> int:
        return max((row[0] for row in self.rows), default=0)

    def changed_since(self, cursor: int, recent_since: datetime, limit: int) -> list[int]:
        self.asked.append((cursor, recent_since))
        return sorted({o for i, o, at in self.rows if i > cursor or at >= recent_since})[:limit]


_phones = iter(range(13991234500, 13991234599))
_HOME = AddressInput("西安市", "雁塔区", "科技路 1 号")


def _order(bus: MessageBus, **kwargs: object) -> Order:
    customer = bus.handle(CreateCustomer(name="李女士", phones=(str(next(_phones)),), addresses=(_HOME,)))
    assert isinstance(customer, Customer) and customer.id is not None
    order = bus.handle(PlaceOrder(customer_id=customer.id, items=(ItemRequest(1, 2),), **kwargs))  # type: ignore[arg-type]
    assert isinstance(order, Order)
    return order


def test_is_overdue_against_eta_then_window(bus: MessageBus, clock: FakeClock) -> None:
    order = _order(bus)
    assert order.eta is not None
    assert not is_overdue(order, order.eta - timedelta(minutes=1))
    assert is_overdue(order, order.eta + timedelta(minutes=1))
    order.state = OrderState.DELIVERED
    assert not is_overdue(order, order.eta + timedelta(minutes=1))  # finished orders are never late
    waiting = _order(bus, auto_dispatch=False, window_end=clock.now() + timedelta(hours=1))
    assert waiting.eta is None
    assert not is_overdue(waiting, clock.now()) and is_overdue(waiting, clock.now() + timedelta(hours=2))


def test_board_groups_orders_by_station(
    bus: MessageBus, store: FakeStore, world: World, clock: FakeClock
) -> None:
    dispatched = _order(bus)
    feed = ListFeed()
    feed.rows.append((7, dispatched.id or 0, clock.now()))
    found = board(store.uow(), feed, clock.now())
    assert found.cursor == 7 and [o.order.id for o in found.orders] == [dispatched.id]
    yanta = next(c for c in found.stations if c.station.id == world.yanta)
    assert yanta.counts == {OrderState.DISPATCHED: 1}
    assert {c.id for c in yanta.couriers} == {world.wang, world.li}
    assert found.orders[0].customer is not None and found.orders[0].lat is not None
    only_weiyang = board(store.uow(), feed, clock.now(), station_id=world.weiyang)
    assert only_weiyang.orders == [] and [c.station.id for c in only_weiyang.stations] == [world.weiyang]


def test_changes_ask_the_feed_with_the_late_commit_window(
    bus: MessageBus, store: FakeStore, clock: FakeClock
) -> None:
    first = _order(bus)
    second = _order(bus)
    feed = ListFeed()
    feed.rows += [(1, first.id or 0, clock.now() - timedelta(minutes=5)), (2, second.id or 0, clock.now())]
    cursor, changed = changes(store.uow(), feed, 1, clock.now())
    assert cursor == 2 and [c.order.id for c in changed] == [second.id]
    assert feed.asked == [(1, clock.now() - LATE_COMMIT)]
