"""Outputs of a running flow (:class:`waterline.calls.call.FlowRun`): what the driver must do.

Actions that produce an answer carry a ``token`` (unique within one run, increasing); the driver
answers with the event of the same token (``PlaybackFinished``, ``RecordingFinished``,
``RequestAnswered``/``RequestFailed``, ``TransferEnded``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "REQUEST_KINDS",
    "Action",
    "Answer",
    "Hangup",
    "Play",
    "Prompt",
    "PromptItem",
    "Record",
    "Request",
    "Speech",
    "StopPlayback",
    "Transfer",
]


@dataclass(frozen=True, slots=True)
class Prompt:
    """A prompt of the prompt library, by name (``src/waterline/prompts/manifest.json``)."""

    name: str


@dataclass(frozen=True, slots=True)
class Speech:
    """Chinese text for the offline TTS, with the flow's variables already substituted."""

    text: str


PromptItem = Prompt | Speech


@dataclass(frozen=True, slots=True)
class Answer:
    """Answer the call (200 OK with media). Always the first action of a run that answers."""


@dataclass(frozen=True, slots=True)
class Play:
    """Play ``items`` one after the other, then send ``PlaybackFinished(token)``.

    With ``barge_in`` the flow listens to digits during playback; it sends ``StopPlayback`` itself
    when a digit should cut the prompt short, so the driver never has to decide that.
    """

    token: int
    items: tuple[PromptItem, ...]
    barge_in: bool


@dataclass(frozen=True, slots=True)
class StopPlayback:
    """Stop the current playback at once (the caller barged in). ``PlaybackFinished`` may still
    follow; the flow ignores it."""


@dataclass(frozen=True, slots=True)
class Record:
    """Record the caller (a voicemail message) until ``max_seconds``, ``silence_seconds`` of silence,
    ``#`` or hang-up; play a beep first if ``beep``. Answer with ``RecordingFinished(token, ...)``."""

    token: int
    max_seconds: float
    silence_seconds: float
    beep: bool


REQUEST_KINDS = frozenset({"identify", "reorder", "order_status", "complaint", "missed_call", "clock"})
"""The business requests a flow may send; see :class:`Request`."""


@dataclass(frozen=True, slots=True)
class Request:
    """A business question or command, answered by the driver through the bus/services with
    ``RequestAnswered(token, result)`` or ``RequestFailed(token, reason)``.

    Kinds, their ``args`` and the keys of ``result`` (result keys are stored as flow variables,
    prefixed by the node's ``into`` name, e.g. ``caller.name``):

    - ``identify`` (``caller``, ``did``, and ``region_city`` when the caller chose a city because
      the number's region is unknown: resolve station and opening for that city) →
      ``customer_id`` (int | None), ``name``, ``tier``,
      ``region_city``, ``region_source``, ``station_id``, ``station_phone`` (for forwarding),
      ``station_open`` (bool), ``is_workday`` (bool), ``usual_order_text`` (e.g. "2桶XX矿泉水"),
      ``usual_order_qty``, ``address_text`` (where the usual order goes, e.g. "雁塔区…"),
      ``ticket_balance``, ``pays_with_tickets``; missing keys read as ``None``;
    - ``reorder`` (``customer_id``, ``call_id``) → ``order_id``, ``number``, ``eta_text``, ``station_id``,
      ``ticket_balance`` (after this order when paid by tickets, else ``None``);
    - ``order_status`` (``customer_id``) → ``state_text``, ``eta_text``, ``number`` (or ``number``
      ``None`` when the caller has no open order);
    - ``complaint`` (``reason``, ``customer_id``, ``call_id``) → ``ticket_id``;
    - ``missed_call`` (``recording_id``, ``caller``, ``call_id``) → ``task_id``;
    - ``clock`` (``station_id``) → ``open`` (bool), ``holiday`` (bool), ``workday`` (bool).
    """

    token: int
    kind: str
    args: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Transfer:
    """Connect the caller to ``target`` (an agent id/extension or an external number); answer with
    ``TransferEnded(token, ok)`` once the other leg ends or fails.

    With ``queue`` (a flow's ``queue`` node) the caller goes to that ACD queue first; ``target`` is the
    fallback the driver dials when the engine has no such queue. The ACD may also send the caller to
    a mobile of its overflow chain (dialled like a target; ``TransferEnded`` after that leg) or to
    voicemail (``TransferEnded(token, False, detail)``: the node's failure branch)."""

    token: int
    target: str
    queue: str | None = None


@dataclass(frozen=True, slots=True)
class Hangup:
    """End the call (our BYE, or a rejection if not answered yet). Always the last action of a run."""

    cause: str


Action = Answer | Play | StopPlayback | Record | Request | Transfer | Hangup
"""Everything ``FlowRun.start``/``handle``/``handle_timer`` return."""
