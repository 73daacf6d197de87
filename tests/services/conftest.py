import pytest

from fakes import FakeClock, FakeStore, World, seed_world
from waterline.services.bus import MessageBus
from waterline.services.context import Dependencies


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def world(store: FakeStore) -> World:
    return seed_world(store)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bus(store: FakeStore, world: World, clock: FakeClock) -> MessageBus:
    return MessageBus(store.uow, Dependencies(clock=clock))
