from dataclasses import dataclass

import pytest

from fakes import FakeClock, FakeStore, FakeUnitOfWork
from waterline.domain.commands import Command
from waterline.domain.events import CustomerCreated, Event
from waterline.services.bus import MessageBus
from waterline.services.context import Dependencies
from waterline.services.ports import UnitOfWork


@dataclass(frozen=True)
class Ping(Command):
    fail: bool = False


@dataclass(frozen=True)
class Pinged(Event):
    n: int


@dataclass(frozen=True)
class Echoed(Event):
    n: int


def _ping(cmd: Ping, uow: UnitOfWork, deps: Dependencies) -> str:
    with uow:
        uow.record(Pinged(1))
        if cmd.fail:
            raise RuntimeError("boom")
        uow.commit()
    return "pong"


def _bus(store: FakeStore) -> MessageBus:
    return MessageBus(store.uow, Dependencies(clock=FakeClock()), command_handlers={Ping: _ping})


def test_command_result_returned_and_events_published_after_commit() -> None:
    bus = _bus(FakeStore())
    seen: list[Event] = []
    bus.subscribe(Pinged, lambda e, uow, deps: seen.append(e))
    assert bus.handle(Ping()) == "pong"
    assert seen == [Pinged(1)]


def test_failed_command_publishes_nothing() -> None:
    bus = _bus(FakeStore())
    seen: list[Event] = []
    bus.subscribe(Pinged, lambda e, uow, deps: seen.append(e))
    with pytest.raises(RuntimeError):
        bus.handle(Ping(fail=True))
    assert seen == []


def test_event_handlers_cascade_and_a_failing_one_does_not_stop_others() -> None:
    bus = _bus(FakeStore())
    seen: list[Event] = []

    def echo(event: Pinged, uow: UnitOfWork, deps: Dependencies) -> None:
        with uow:
            uow.record(Echoed(event.n + 1))
            uow.commit()

    def broken(event: Pinged, uow: UnitOfWork, deps: Dependencies) -> None:
        raise ValueError("listener bug")

    bus.subscribe(Pinged, broken)
    bus.subscribe(Pinged, echo)
    bus.subscribe(Echoed, lambda e, uow, deps: seen.append(e))
    assert bus.handle(Ping()) == "pong"
    assert seen == [Echoed(2)]


def test_unknown_command_is_an_error() -> None:
    with pytest.raises(LookupError):
        _bus(FakeStore()).handle(Command())


def test_default_handlers_are_wired() -> None:
    store = FakeStore()
    bus = MessageBus(store.uow, Dependencies(clock=FakeClock()))
    seen: list[Event] = []
    bus.subscribe(CustomerCreated, lambda e, uow, deps: seen.append(e))
    from waterline.domain.commands import CreateCustomer

    customer = bus.handle(CreateCustomer(name="王女士", phones=("13991234567",)))
    assert seen == [CustomerCreated(customer.id)]
    assert isinstance(store.uow(), FakeUnitOfWork)
