from dataclasses import FrozenInstanceError
from datetime import UTC, datetime

import pytest

from waterline.domain import events
from waterline.domain.orders import Channel


def test_events_are_frozen_values() -> None:
    at = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    placed = events.OrderPlaced(1, "SX20261125-0001", 2, Channel.AGENT, at)
    assert placed == events.OrderPlaced(1, "SX20261125-0001", 2, Channel.AGENT, at)
    with pytest.raises(FrozenInstanceError):
        placed.order_id = 3  # type: ignore[misc]


def test_event_names_are_past_tense_facts() -> None:
    names = [
        name
        for name, v in vars(events).items()
        if isinstance(v, type) and issubclass(v, events.Event) and v is not events.Event
    ]
    assert names and all(name.endswith(("ed", "Sold", "AwaitingCourier")) for name in names), names
