"""The events a flow run accepts are small immutable values."""

from __future__ import annotations

import dataclasses

import pytest

from waterline.calls.events import (
    CallerHungUp,
    DigitPressed,
    PlaybackFinished,
    RecordingFinished,
    RequestAnswered,
    RequestFailed,
    TransferEnded,
)


def test_events_are_frozen_values() -> None:
    event = DigitPressed("1")
    assert event == DigitPressed("1") and event != DigitPressed("2")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.digit = "2"  # type: ignore[misc]


def test_answers_carry_the_token_of_their_action() -> None:
    answers: list[PlaybackFinished | RecordingFinished | RequestAnswered | RequestFailed | TransferEnded] = [
        PlaybackFinished(3),
        RecordingFinished(3, 17, 4.5),
        RequestAnswered(3, {"order_id": 9}),
        RequestFailed(3, "store down"),
        TransferEnded(3, True),
    ]
    assert all(answer.token == 3 for answer in answers)
    assert RequestAnswered(4).result == {}
    assert CallerHungUp() == CallerHungUp()


def test_events_have_no_instance_dict() -> None:
    # slots keep the many events of a busy engine small
    assert not hasattr(DigitPressed("5"), "__dict__")
