"""The actions a flow run returns are small immutable values."""

from __future__ import annotations

import dataclasses

import pytest

from waterline.calls.actions import (
    REQUEST_KINDS,
    Answer,
    Hangup,
    Play,
    Prompt,
    Record,
    Request,
    Speech,
    StopPlayback,
    Transfer,
)


def test_play_holds_prompts_and_speech_in_order() -> None:
    play = Play(1, (Prompt("greeting"), Speech("您好")), barge_in=True)
    assert [type(item) for item in play.items] == [Prompt, Speech]
    with pytest.raises(dataclasses.FrozenInstanceError):
        play.token = 2  # type: ignore[misc]


def test_actions_compare_by_value() -> None:
    assert Answer() == Answer() and StopPlayback() == StopPlayback()
    assert Record(2, 60.0, 5.0, True) == Record(2, 60.0, 5.0, True)
    assert Request(3, "identify", {"caller": "1"}) != Request(4, "identify", {"caller": "1"})
    assert Transfer(5, "13800000000").target == "13800000000"
    assert Hangup("normal").cause == "normal"


def test_request_kinds_are_the_contracts() -> None:
    assert REQUEST_KINDS == {"identify", "reorder", "order_status", "complaint", "missed_call", "clock"}
