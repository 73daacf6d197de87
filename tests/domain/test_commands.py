from dataclasses import FrozenInstanceError, fields

import pytest

from waterline.domain import commands
from waterline.domain.orders import Channel, ItemRequest, OrderState


def _command_types() -> list[type[commands.Command]]:
    return [
        v
        for v in vars(commands).values()
        if isinstance(v, type) and issubclass(v, commands.Command) and v is not commands.Command
    ]


def test_commands_are_frozen_and_attributed() -> None:
    command = commands.PlaceOrder(customer_id=1, items=(ItemRequest(2, 3),))
    with pytest.raises(FrozenInstanceError):
        command.customer_id = 2  # type: ignore[misc]
    assert command.channel is Channel.AGENT and command.by == "system"
    for kind in _command_types():
        assert "by" in {f.name for f in fields(kind)}, kind


def test_transition_defaults() -> None:
    command = commands.TransitionOrder(order_id=1, to=OrderState.DELIVERED)
    assert (command.empties_collected, command.tickets_used, command.reason) == (0, None, "")
