"""Queue configuration: frozen values that refuse settings the ACD cannot run."""

from __future__ import annotations

import dataclasses

import pytest

from waterline.calls.queue import (
    AgentState,
    OverflowMobile,
    OverflowQueue,
    OverflowVoicemail,
    QueueConfig,
    QueueConfigError,
    QueueMember,
    Strategy,
    Tier,
)


def test_defaults_are_a_runnable_queue() -> None:
    config = QueueConfig("orders")
    assert config.strategy is Strategy.LONGEST_IDLE
    assert config.overflow == (OverflowVoicemail(),)
    assert not config.ring_in_use
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.name = "x"  # type: ignore[misc]


def test_values_match_the_api_and_store() -> None:
    assert [s.value for s in AgentState] == [
        "logged_out", "available", "ringing", "on_call", "wrap_up", "paused",
    ]
    names = {s.value for s in Strategy}
    assert names == {"ring-all", "longest-idle", "round-robin", "fewest-calls", "random"}
    assert Strategy("round-robin") is Strategy.ROUND_ROBIN


def test_tier_after_defaults_to_zero_for_unlisted_levels() -> None:
    config = QueueConfig("orders", tiers=(Tier(1, 20.0), Tier(2, 45.0)))
    assert config.tier_after(0) == 0.0
    assert config.tier_after(1) == 20.0
    assert config.tier_after(2) == 45.0
    assert QueueMember("li").tier == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ring_timeout": 0}, "ring_timeout"),
        ({"max_wait": 0}, "max_wait"),
        ({"max_length": 0}, "max_length"),
        ({"wrap_up_seconds": -1}, "wrap_up_seconds"),
        ({"comfort_every": 30.0}, "comfort_prompt"),
        ({"tiers": (Tier(1, 5), Tier(1, 9))}, "tier levels repeat"),
        ({"tiers": (Tier(1, -5),)}, "after_seconds"),
        ({"overflow": (OverflowQueue("orders"),)}, "itself"),
        ({"callback_after": -3.0}, "callback_after"),
    ],
)
def test_refuses_settings_that_cannot_run(changes: dict[str, object], message: str) -> None:
    with pytest.raises(QueueConfigError, match=message):
        QueueConfig("orders", **changes)  # type: ignore[arg-type]


def test_overflow_chain_is_ordered_data() -> None:
    chain = (OverflowQueue("xa"), OverflowMobile("13800000000"), OverflowVoicemail())
    config = QueueConfig("orders", overflow=chain)
    assert config.overflow[1] == OverflowMobile("13800000000")
