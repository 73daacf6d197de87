"""Inputs to a running flow (:class:`waterline.calls.call.FlowRun`).

The telephony driver turns what happens on the call into these events and feeds them with
``FlowRun.handle(event, now)``. Events that answer an action carry that action's ``token``, so an
answer that arrives after the flow has moved on (a late ``PlaybackFinished`` of a prompt the caller
barged into) is recognised as stale and ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "CallerHungUp",
    "DigitPressed",
    "Event",
    "PlaybackFinished",
    "RecordingFinished",
    "RequestAnswered",
    "RequestFailed",
    "TransferEnded",
]


@dataclass(frozen=True, slots=True)
class DigitPressed:
    """The caller pressed a key: one of ``0123456789*#`` (``A``–``D`` are passed on as well)."""

    digit: str


@dataclass(frozen=True, slots=True)
class PlaybackFinished:
    """The ``Play`` action with this token has played to its end (or was stopped by ``StopPlayback``)."""

    token: int


@dataclass(frozen=True, slots=True)
class RecordingFinished:
    """The ``Record`` action with this token has ended (max length, silence, ``#`` or hang-up).

    ``recording_id`` is the id of the stored recording (``None`` if nothing could be stored);
    ``seconds`` the length of the message.
    """

    token: int
    recording_id: int | None
    seconds: float


@dataclass(frozen=True, slots=True)
class RequestAnswered:
    """The driver's answer to the business ``Request`` with this token (see ``actions.Request``)."""

    token: int
    result: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RequestFailed:
    """The business ``Request`` with this token could not be answered; ``reason`` is for the log."""

    token: int
    reason: str


@dataclass(frozen=True, slots=True)
class CallerHungUp:
    """The caller hung up (BYE/CANCEL from the caller's side). Ends the run at any point."""


@dataclass(frozen=True, slots=True)
class TransferEnded:
    """The ``Transfer`` with this token ended: ``ok`` is ``True`` if the other leg was answered and
    has now hung up (the caller is still on the line), ``False`` if it could not be reached.
    ``detail`` says what happened for the call's path (``queue orders: timeout -> voicemail``)."""

    token: int
    ok: bool
    detail: str = ""


Event = (
    DigitPressed
    | PlaybackFinished
    | RecordingFinished
    | RequestAnswered
    | RequestFailed
    | CallerHungUp
    | TransferEnded
)
"""Everything ``FlowRun.handle`` accepts."""
