"""Events and commands are frozen values: comparable, hashable, immutable."""

from __future__ import annotations

import dataclasses

import pytest

from waterline.sip import events as ev


def test_events_compare_by_value_and_are_frozen() -> None:
    first = ev.CallEnded("leg-1", "remote-bye")
    assert first == ev.CallEnded("leg-1", "remote-bye", None)
    assert first != ev.CallEnded("leg-1", "cancelled", 487)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.reason = "other"  # type: ignore[misc]
    assert len({first, ev.CallEnded("leg-1", "remote-bye")}) == 1


def test_commands_have_sensible_defaults() -> None:
    assert ev.Reject("leg").status == 486
    assert ev.Ring("leg").status == 180
    assert ev.SendInfo("leg", b"Signal=1").content_type == "application/dtmf-relay"
    dial = ev.Dial("sip:1@127.0.0.1", "sip:400@127.0.0.1", ("127.0.0.1", 5060), None)
    assert dial.transport == "udp" and dial.headers == ()
