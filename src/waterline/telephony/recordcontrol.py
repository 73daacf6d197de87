"""Recording on demand: the engine's handler of the console's ``call.record`` command.

``{"call_id": …, "on": false}`` pauses the call's recording — what a call centre does while a customer
reads out something private. The recorder then writes silence of the same length instead of the
frames, so the WAV's two channels stay on the call's time line; the paused ranges go to the
recording's line in ``recordings/index.jsonl`` and each pause and resume to the engine journal.
``"on": true`` resumes it. A call whose flow records nothing cannot start recording half-way (the
recorder is opened at answer and tapped into the bridge when an agent answers): that is refused
(409) with a message saying so. A call the engine does not have is ``unknown_call`` (404).

The reply's data says where the call now stands: ``{"recording": true, "paused": false}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from waterline.calls.live import Command, RecordCall
from waterline.telephony.eventport import CommandRefused
from waterline.telephony.journal import JournalValue

__all__ = ["PausableRecording", "RecordControl", "RecordedCall"]


class PausableRecording(Protocol):
    """What the handler needs of a call's recorder (``CallRecorder`` fits)."""

    @property
    def paused(self) -> bool: ...

    def pause(self) -> bool: ...

    def resume(self) -> bool: ...

    @property
    def pauses(self) -> tuple[tuple[float, float], ...]: ...


class RecordedCall(Protocol):
    """A running call as the handler sees it (``FlowCall`` fits)."""

    @property
    def ended(self) -> bool: ...

    @property
    def recorder(self) -> PausableRecording | None: ...


class Journal(Protocol):
    """The engine journal (``telephony.journal.Journal`` fits)."""

    def write(self, event: str, ts: float, **fields: JournalValue) -> None: ...


class RecordControl:
    """Carries out ``call.record``: ``find(call_id)`` gives the running call (None when unknown);
    ``wallclock`` gives epoch seconds for the journal. Call :meth:`handle` on the engine's loop."""

    def __init__(self, *, find: Callable[[str], RecordedCall | None], journal: Journal,
                 wallclock: Callable[[], float]) -> None:
        self._find = find
        self._journal = journal
        self._wallclock = wallclock

    def handle(self, command: Command) -> Mapping[str, object]:
        """Pause (``on`` false) or resume (``on`` true) the call's recording; idempotent.

        Raises :class:`CommandRefused`: ``unknown_call`` for a call that is not up, ``not_recorded``
        for one whose flow records nothing."""
        if not isinstance(command, RecordCall):
            raise TypeError(f"not a {RecordCall.NAME} command: {command!r}")
        call = self._find(command.call_id)
        if call is None or call.ended:
            raise CommandRefused("unknown_call", "没有这个正在进行的通话", "no such call in progress")
        recorder = call.recorder
        if recorder is None:
            raise CommandRefused(
                "not_recorded", "此通话的流程不录音，通话中途无法开始录音",
                "this call's flow does not record: a recording cannot be started half-way through the call",
            )
        changed = recorder.resume() if command.on else recorder.pause()
        if changed:
            ranges = recorder.pauses
            at = ranges[-1][1] if command.on else ranges[-1][0]  # seconds into the recording
            self._journal.write("recording_resumed" if command.on else "recording_paused", self._wallclock(),
                                call_id=command.call_id, by=command.by, offset=round(at, 3))
        return {"recording": True, "paused": recorder.paused}
