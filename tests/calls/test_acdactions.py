"""ACD outputs are small immutable values."""

from __future__ import annotations

import dataclasses

import pytest

from waterline.calls.acdactions import Bridge, ExitQueue, RingAgent
from waterline.calls.queue import OverflowMobile


def test_actions_are_frozen_values() -> None:
    ring = RingAgent("leg-1", "c1", "li", "sip:li@10.0.0.1", 15.0, "139", "orders")
    assert not ring.callback
    with pytest.raises(dataclasses.FrozenInstanceError):
        ring.timeout = 1.0  # type: ignore[misc]
    assert Bridge("c1", "li", "leg-1").customer_leg is None
    assert ExitQueue("c1", "timeout", OverflowMobile("138")).target == OverflowMobile("138")
