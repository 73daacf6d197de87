"""Recording on demand: the ``call.record`` handler pauses and resumes a call's recorder."""

from __future__ import annotations

import asyncio
import datetime as dt
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from waterline.calls.live import CommandFrame, Hangup, RecordCall
from waterline.rtp.g711 import PCMU
from waterline.telephony.eventport import CommandRefused, EventPort
from waterline.telephony.journal import JournalValue
from waterline.telephony.recordcontrol import RecordControl
from waterline.telephony.recording import CallRecorder

STARTED = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
TONE = PCMU.encode((np.sin(np.arange(160) / 3) * 9000).astype(np.int16))


@dataclass
class FakeCall:
    recorder: CallRecorder | None
    ended: bool = False


@dataclass
class FakeJournal:
    lines: list[tuple[str, dict[str, JournalValue]]] = field(default_factory=list)

    def write(self, event: str, ts: float, **fields: JournalValue) -> None:
        self.lines.append((event, fields))


def _control(calls: dict[str, FakeCall]) -> tuple[RecordControl, FakeJournal]:
    journal = FakeJournal()
    return RecordControl(find=calls.get, journal=journal, wallclock=lambda: 1764061200.0), journal


def _talk(recorder: CallRecorder, frames: int) -> None:
    for _ in range(frames):
        recorder.tick(TONE, TONE)


def test_stop_pauses_the_recording_with_silence_and_start_resumes_it(tmp_path: Path) -> None:
    recorder = CallRecorder(tmp_path, "call-7", STARTED, PCMU, PCMU)
    control, journal = _control({"call-7": FakeCall(recorder)})
    _talk(recorder, 50)
    assert control.handle(RecordCall("call-7", on=False, by="kefu01")) == {"recording": True, "paused": True}
    assert control.handle(RecordCall("call-7", on=False)) == {"recording": True, "paused": True}  # no-op
    _talk(recorder, 100)  # the customer reads out his ID card number
    assert control.handle(RecordCall("call-7", on=True, by="kefu01")) == {"recording": True, "paused": False}
    assert control.handle(RecordCall("call-7", on=True)) == {"recording": True, "paused": False}  # no-op
    _talk(recorder, 50)
    index = recorder.finish()
    assert index.pauses == ((1.0, 3.0),)
    assert journal.lines == [("recording_paused", {"call_id": "call-7", "by": "kefu01", "offset": 1.0}),
                             ("recording_resumed", {"call_id": "call-7", "by": "kefu01", "offset": 3.0})]
    with wave.open(str(index.path)) as wav:
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    assert stereo.shape == (32000, 2)  # 4 s: the paused 2 s are there, as silence
    assert np.abs(stereo[8000:24000]).max() == 0
    assert np.abs(stereo[:8000]).max() > 8000 and np.abs(stereo[24000:]).max() > 8000


def test_unknown_and_ended_calls_are_refused_as_unknown(tmp_path: Path) -> None:
    recorder = CallRecorder(tmp_path, "over", STARTED, PCMU, PCMU)
    control, journal = _control({"over": FakeCall(recorder, ended=True)})
    for call_id in ("nobody", "over"):
        with pytest.raises(CommandRefused) as refused:
            control.handle(RecordCall(call_id, on=False))
        assert refused.value.code == "unknown_call" and refused.value.zh and refused.value.en
    assert not recorder.paused and journal.lines == []


def test_a_call_whose_flow_records_nothing_cannot_start_half_way() -> None:
    control, journal = _control({"plain": FakeCall(None)})
    for on in (True, False):
        with pytest.raises(CommandRefused) as refused:
            control.handle(RecordCall("plain", on=on))
        assert refused.value.code == "not_recorded"
        assert "录音" in refused.value.zh and "does not record" in refused.value.en
    assert journal.lines == []


def test_another_command_is_a_programming_error(tmp_path: Path) -> None:
    control, _ = _control({})
    with pytest.raises(TypeError):
        control.handle(Hangup("call-1"))


def test_through_the_event_port_the_refusals_keep_their_codes(tmp_path: Path) -> None:
    asyncio.run(_through_the_port(tmp_path))


async def _through_the_port(tmp_path: Path) -> None:
    recorder = CallRecorder(tmp_path, "call-8", STARTED, PCMU, PCMU)
    control, _ = _control({"call-8": FakeCall(recorder), "plain": FakeCall(None)})
    port = EventPort(tmp_path / "live.sock", clock=lambda: 0.0, engine_id="e1")
    port.on_command(RecordCall.NAME, control.handle)
    paused = await port.dispatch(CommandFrame(1, RecordCall.NAME, {"call_id": "call-8", "on": False}))
    assert paused.ok and paused.data == {"recording": True, "paused": True} and recorder.paused
    plain = await port.dispatch(CommandFrame(2, RecordCall.NAME, {"call_id": "plain", "on": True}))
    gone = await port.dispatch(CommandFrame(3, RecordCall.NAME, {"call_id": "gone", "on": True}))
    assert (plain.ok, plain.code, gone.ok, gone.code) == (False, "not_recorded", False, "unknown_call")
