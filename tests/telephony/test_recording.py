"""Stereo call recording: pure mixing, raw files per leg, WAV at hang-up, recovery after a crash."""

from __future__ import annotations

import datetime as dt
import json
import threading
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from waterline.rtp.g711 import PCMA, PCMU
from waterline.telephony.recording import (
    CallRecorder,
    mix_file,
    mix_stereo,
    recording_stem,
    recover,
    wav_header,
)

STARTED = dt.datetime(2025, 3, 15, 9, 30, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _tone_frames(frames: int, freq: float = 440.0) -> list[np.ndarray]:
    t = np.arange(frames * 160) / 8000
    samples = (np.sin(2 * np.pi * freq * t) * 10000).astype(np.int16)
    return [samples[i * 160:(i + 1) * 160] for i in range(frames)]


def _read_stereo(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
        return data, wav.getnframes()


def test_recording_stem_is_safe_and_unique() -> None:
    assert recording_stem("a84b4c76e66710@pc33.example.com") == "a84b4c76e66710@pc33.example.com"
    odd = recording_stem("../x/y z")
    assert "/" not in odd and not odd.startswith(".")
    assert recording_stem("a/b") != recording_stem("a:b")
    assert recording_stem("")


def test_wav_header_describes_stereo_pcm16(tmp_path: Path) -> None:
    path = tmp_path / "h.wav"
    path.write_bytes(wav_header(3) + bytes(12))
    with wave.open(str(path), "rb") as wav:
        layout = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate(), wav.getnframes())
    assert layout == (2, 2, 8000, 3)


def test_mix_stereo_decodes_each_leg_into_its_channel_and_pads_with_silence() -> None:
    tone = _tone_frames(1)[0]
    left = PCMU.encode(tone)
    right = PCMA.encode(tone[:100])
    stereo = np.frombuffer(mix_stereo(left, PCMU, right, PCMA), dtype="<i2").reshape(-1, 2)
    assert stereo.shape == (160, 2)
    assert np.array_equal(stereo[:, 0], PCMU.decode(left))
    assert np.array_equal(stereo[:100, 1], PCMA.decode(right))
    assert np.all(np.abs(stereo[100:, 1]) <= 8)  # A-law silence decodes to +-8, not a click
    assert mix_stereo(b"", PCMU, b"", PCMA) == b""


def test_call_is_recorded_to_stereo_wav_and_raw_files_are_removed(tmp_path: Path) -> None:
    recorder = CallRecorder(tmp_path, "call-1@host", STARTED, PCMA, PCMU)
    day = tmp_path / "recordings" / "2025" / "03" / "15"
    assert json.loads((day / "call-1@host.json").read_text())["a"] == {"codec": "PCMA"}
    frames = _tone_frames(100)
    for i, frame in enumerate(frames):
        # the caller talks, with frame 10 lost (a gap); the other side is silent
        recorder.tick(None if i == 10 else PCMA.encode(frame), PCMU.silence_frame())
    index = recorder.finish()
    assert index.path == day / "call-1@host.wav"
    assert index.duration == pytest.approx(2.0)
    assert index.size == index.path.stat().st_size == 44 + 16000 * 4
    assert index.started_at == STARTED and index.call_id == "call-1@host"
    assert sorted(p.name for p in day.iterdir()) == ["call-1@host.wav"]
    stereo, count = _read_stereo(index.path)
    assert count == 16000
    caller = stereo[:, 0]
    assert np.array_equal(caller[:1600], PCMA.decode(PCMA.encode(np.concatenate(frames[:10]))))
    assert np.all(np.abs(caller[1600:1760]) <= 8)  # the lost frame became silence, not a shift
    assert np.array_equal(caller[1760:1920], PCMA.decode(PCMA.encode(frames[11])))
    assert np.abs(caller).max() > 9000
    assert np.abs(stereo[:, 1]).max() == 0  # μ-law silence decodes to exactly 0
    assert recorder.finish() is index


def test_late_joining_leg_is_aligned_with_silence(tmp_path: Path) -> None:
    recorder = CallRecorder(tmp_path, "late", STARTED, PCMU, PCMU)
    tone = PCMU.encode(_tone_frames(1)[0])
    for _ in range(50):
        recorder.write_a(tone)  # caller hears the queue; no agent yet
    recorder.align()
    for _ in range(50):
        recorder.tick(tone, tone)
    stereo, count = _read_stereo(recorder.finish().path)
    assert count == 16000
    assert np.abs(stereo[:8000, 1]).max() == 0
    assert np.abs(stereo[8000:, 1]).max() > 9000


def test_a_paused_recording_writes_silence_in_time_and_resumes(tmp_path: Path) -> None:
    recorder = CallRecorder(tmp_path, "private", STARTED, PCMA, PCMU)
    frames = _tone_frames(150)
    for i, frame in enumerate(frames):
        if i == 50:
            assert recorder.pause() and recorder.paused and not recorder.pause()  # twice: no second range
        if i == 100:
            assert recorder.resume() and not recorder.paused and not recorder.resume()
        tone = frame if i % 2 else frame[:80]  # frames of another length than 20 ms keep theirs too
        recorder.tick(PCMA.encode(tone), PCMU.encode(tone))
    assert recorder.a_samples == recorder.b_samples == 75 * 160 + 75 * 80
    index = recorder.finish()
    assert index.pauses == ((0.75, 1.5),)  # frames 50-99: 6,000 samples each side of the pause
    stereo, count = _read_stereo(index.path)
    assert count == 75 * 160 + 75 * 80  # nothing dropped: both channels stay on the call's time line
    before, paused, after = stereo[:6000], stereo[6000:12000], stereo[12000:]
    assert np.abs(before).max() > 9000 and np.abs(after).max() > 9000
    assert np.abs(paused[:, 0]).max() <= 8 and np.abs(paused[:, 1]).max() == 0  # A-law left, mu-law right
    assert np.array_equal(after[:80, 0], PCMA.decode(PCMA.encode(frames[100][:80])))  # back in step


def test_a_pause_still_open_at_hang_up_ends_with_the_recording(tmp_path: Path) -> None:
    recorder = CallRecorder(tmp_path, "open-pause", STARTED, PCMU, PCMU)
    tone = PCMU.encode(_tone_frames(1)[0])
    recorder.tick(tone, tone)
    recorder.pause()
    for _ in range(9):
        recorder.tick(tone, None)
    index = recorder.finish()
    assert index.pauses == ((0.02, 0.2),) and index.duration == pytest.approx(0.2)
    assert not recorder.resume()  # finished: nothing more to resume
    assert CallRecorder(tmp_path, "never", STARTED, PCMU, PCMU).finish().pauses == ()


def test_long_call_is_mixed_in_chunks_without_seams(tmp_path: Path) -> None:
    a, b = tmp_path / "a.raw", tmp_path / "b.raw"
    codes = (np.arange(8000 * 23) % 256).astype(np.uint8).tobytes()  # 23 s: three chunks, the last short
    a.write_bytes(codes)
    b.write_bytes(codes[: 8000 * 11])
    frames = mix_file(a, PCMU, b, PCMA, tmp_path / "out.wav")
    assert frames == 8000 * 23
    stereo, _ = _read_stereo(tmp_path / "out.wav")
    assert np.array_equal(stereo[:, 0], PCMU.decode(codes))
    assert np.array_equal(stereo[: 8000 * 11, 1], PCMA.decode(codes[: 8000 * 11]))
    assert np.all(np.abs(stereo[8000 * 11:, 1]) <= 8)


def test_mix_file_with_a_missing_leg(tmp_path: Path) -> None:
    (tmp_path / "a.raw").write_bytes(bytes([0x00]) * 320)
    assert mix_file(tmp_path / "a.raw", PCMU, tmp_path / "none.raw", PCMU, tmp_path / "o.wav") == 320
    assert mix_file(tmp_path / "x.raw", PCMU, tmp_path / "y.raw", PCMU, tmp_path / "e.wav") == 0
    _, count = _read_stereo(tmp_path / "e.wav")
    assert count == 0


def test_recover_converts_leftovers_of_a_crash(tmp_path: Path) -> None:
    crashed = CallRecorder(tmp_path, "crashed", STARTED, PCMA, PCMA)
    running = CallRecorder(tmp_path, "running", STARTED, PCMA, PCMA)
    for _ in range(25):
        crashed.tick(PCMA.encode(_tone_frames(1)[0]), None)
        running.tick(None, None)
    crashed.flush()  # what the buffer had pushed to the OS before the process died
    running.flush()
    other_day = tmp_path / "recordings" / "2025" / "03" / "16"
    other_day.mkdir(parents=True)
    (other_day / "broken.json").write_text("{not json")

    recovered = recover(tmp_path, active={"running"})
    assert [r.call_id for r in recovered] == ["crashed"]
    assert recovered[0].duration == pytest.approx(0.5)
    assert recovered[0].started_at == STARTED
    day = tmp_path / "recordings" / "2025" / "03" / "15"
    assert not (day / "crashed.a.raw").exists() and not (day / "crashed.json").exists()
    stereo, _ = _read_stereo(day / "crashed.wav")
    assert np.abs(stereo[:, 0]).max() > 9000
    assert (day / "running.a.raw").exists()  # an active call is not touched
    assert (other_day / "broken.json").exists()  # unreadable: kept for a human
    assert recover(tmp_path / "nowhere") == []
    assert running.finish().duration == pytest.approx(0.5)


class HeldOpener:
    """An opener that runs the file work only when told (the thread that has not got to it yet)."""

    def __init__(self) -> None:
        self.work: list[Callable[[], None]] = []

    def __call__(self, work: Callable[[], None]) -> None:
        self.work.append(work)

    def run(self) -> None:
        for work in self.work:
            work()
        self.work.clear()


def test_with_an_opener_no_file_is_touched_on_the_callers_thread_and_early_frames_are_kept(
        tmp_path: Path) -> None:
    opener = HeldOpener()
    recorder = CallRecorder(tmp_path, "deferred", STARTED, PCMA, PCMA, opener=opener)
    assert not (tmp_path / "recordings").exists() and len(opener.work) == 1
    recorder.tick(bytes([1]) * 160, bytes([2]) * 160)  # before the files exist: kept in memory
    opener.run()
    assert (recorder.directory / "deferred.json").exists()
    recorder.tick(bytes([3]) * 160, bytes([4]) * 160)  # adopts the files: early frames first
    recorder.tick(bytes([5]) * 160, None)
    recorder.flush()
    assert recorder.a_path.read_bytes() == bytes([1]) * 160 + bytes([3]) * 160 + bytes([5]) * 160
    assert recorder.b_path.read_bytes() == bytes([2]) * 160 + bytes([4]) * 160 + PCMA.silence_frame(160)
    assert recorder.finish().duration == pytest.approx(0.06)


def test_finish_writes_frames_that_never_met_the_files_and_waits_for_the_opener(tmp_path: Path) -> None:
    opener = HeldOpener()
    recorder = CallRecorder(tmp_path, "short", STARTED, PCMU, PCMU, opener=opener)
    recorder.tick(bytes([9]) * 160, bytes([8]) * 160)
    finisher = threading.Thread(target=recorder.finish)
    finisher.start()  # waits for the opener, as a finish on the offload pool would
    finisher.join(0.05)
    assert finisher.is_alive()
    opener.run()
    finisher.join(5)
    assert recorder.finished is not None and recorder.finished.duration == pytest.approx(0.02)
    stereo, count = _read_stereo(recorder.wav_path)
    assert count == 160 and np.array_equal(stereo[:, 0], PCMU.decode(bytes([9]) * 160))
    recorder.tick(bytes([1]) * 160, bytes([1]) * 160)  # after finish: ignored
    assert recorder.a_samples == 160


def test_files_that_cannot_be_opened_fail_the_finish_not_the_call(tmp_path: Path) -> None:
    blocker = tmp_path / "recordings"
    blocker.write_text("a file where the directory should be")
    opener = HeldOpener()
    recorder = CallRecorder(tmp_path, "nowhere", STARTED, PCMA, PCMA, opener=opener)
    opener.run()
    for _ in range(3):
        recorder.tick(bytes([1]) * 160, None)  # dropped, not kept in memory for the whole call
    assert recorder.a_samples == 0
    with pytest.raises(OSError):
        recorder.finish()
    with pytest.raises(OSError):
        CallRecorder(tmp_path, "inline", STARTED, PCMA, PCMA)  # without an opener: at once, as before
