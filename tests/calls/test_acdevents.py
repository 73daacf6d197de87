"""ACD inputs are small immutable values."""

from __future__ import annotations

import dataclasses

import pytest

from waterline.calls.acdevents import AgentStateRequested, CallEntered, LegFailed


def test_events_are_frozen_values() -> None:
    event = CallEntered("c1", "orders", "13900000000")
    assert event == CallEntered("c1", "orders", "13900000000")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.queue = "x"  # type: ignore[misc]
    assert AgentStateRequested("li", "paused").reason == ""
    assert LegFailed("leg-1", 486).status == 486
