"""Diagnostic services on a fake leg: echo, bench-play, bench-record, the recording index and its hook."""

from __future__ import annotations

import io
import json
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from waterline.rtp.g711 import PCMA, Law
from waterline.rtp.stream import Arrival
from waterline.telephony.journal import Journal
from waterline.telephony.media import AudioConsumer, Feed
from waterline.telephony.prompt import DEFAULT_PROMPT_DIR, Player, PromptLibrary, Silence
from waterline.telephony.recording import CallRecorder, RecordingIndex
from waterline.telephony.services import (
    BENCH_PLAY,
    BENCH_PROMPT,
    BENCH_RECORD,
    ECHO_EXTENSION,
    CallerTrack,
    Diagnostics,
    EchoFeed,
    PlayerFeed,
    RecordingKeeper,
)

WALL = 1_795_600_000.0


class Clock:
    def __init__(self, now: float = 50.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeLeg:
    """A media session as the services see it; ``tick()`` does what the pacer + session would."""

    law: Law = PCMA
    consumers: list[AudioConsumer] = field(default_factory=list)
    outbound_tap: Callable[[bytes], None] | None = None
    feed: Feed | None = None
    sent: list[bytes] = field(default_factory=list)

    def play(self, feed: Feed | None) -> None:
        self.feed = feed

    def tick(self, skipped: int = 0) -> bytes | None:
        frame = self.feed(skipped) if self.feed is not None else None
        if frame is not None:
            if self.outbound_tap is not None:
                self.outbound_tap(frame)
            self.sent.append(frame)
        return frame

    def hear(self, payload: bytes, seq: int, restarted: bool = False) -> None:
        for consumer in self.consumers:
            consumer(memoryview(payload), Arrival(True, seq, restarted))


@dataclass
class Setup:
    diagnostics: Diagnostics
    keeper: RecordingKeeper
    hangups: list[str]
    indexed: list[RecordingIndex]
    journal: Journal
    stream: io.StringIO
    clock: Clock

    def journal_lines(self) -> list[dict[str, object]]:
        self.journal.flush()
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


def _setup(tmp_path: Path, *, bench: bool = True, hook_fails: bool = False) -> Setup:
    stream = io.StringIO()
    journal = Journal(None, stream)
    indexed: list[RecordingIndex] = []

    def hook(index: RecordingIndex) -> None:
        indexed.append(index)
        if hook_fails:
            raise RuntimeError("store down")

    keeper = RecordingKeeper(tmp_path, journal, lambda: WALL, hook)
    hangups: list[str] = []
    clock = Clock()
    diagnostics = Diagnostics(PromptLibrary([DEFAULT_PROMPT_DIR]), keeper, hangup=hangups.append, clock=clock,
                              wallclock=lambda: WALL, bench=bench)
    return Setup(diagnostics, keeper, hangups, indexed, journal, stream, clock)


def test_the_shipped_bench_prompt_is_exactly_three_seconds() -> None:
    prompt = PromptLibrary([DEFAULT_PROMPT_DIR]).get(BENCH_PROMPT)
    assert len(prompt) == 150 and prompt.duration == 3.0
    samples = PCMA.decode(b"".join(prompt.pcma))
    assert int(np.abs(samples.astype(np.int32)).max()) > 1000  # speech, not silence


def test_every_diagnostic_service_needs_the_flag(tmp_path: Path) -> None:
    off = _setup(tmp_path, bench=False).diagnostics
    assert not any(off.accepts(n) for n in (ECHO_EXTENSION, BENCH_PLAY, BENCH_RECORD))
    on = _setup(tmp_path).diagnostics
    assert all(on.accepts(n) for n in (ECHO_EXTENSION, BENCH_PLAY, BENCH_RECORD)) and not on.accepts("12345")


def test_echo_sends_back_what_it_hears(tmp_path: Path) -> None:
    setup = _setup(tmp_path)
    leg = FakeLeg()
    setup.diagnostics.start("leg", "cid", ECHO_EXTENSION, leg)
    assert leg.feed is None  # nothing heard yet: nothing to send, and no pacer slot taken
    leg.hear(b"\x11" * 240, 1)
    leg.hear(b"\x22" * 240, 2)
    assert [leg.tick(), leg.tick(), leg.tick()] == [b"\x11" * 240, b"\x22" * 240, None]
    assert setup.diagnostics.end("leg") == {"service": ECHO_EXTENSION}
    assert setup.hangups == []


def test_bench_play_plays_three_seconds_then_hangs_up_once(tmp_path: Path) -> None:
    setup = _setup(tmp_path)
    leg = FakeLeg()
    setup.diagnostics.start("leg", "cid", BENCH_PLAY, leg)
    expected = PromptLibrary([DEFAULT_PROMPT_DIR]).get(BENCH_PROMPT).pcma
    for _ in range(160):
        leg.tick()
        setup.clock.now += 0.02
    assert tuple(leg.sent) == expected
    assert setup.hangups == ["leg"]
    fields = setup.diagnostics.end("leg")
    assert fields == {"service": BENCH_PLAY, "prompt_s": pytest.approx(3.0)}
    assert setup.diagnostics.end("leg") == {}


def test_bench_play_hung_up_early_reports_no_prompt_length(tmp_path: Path) -> None:
    setup = _setup(tmp_path)
    leg = FakeLeg()
    setup.diagnostics.start("leg", "cid", BENCH_PLAY, leg)
    leg.tick()
    assert setup.diagnostics.end("leg")["prompt_s"] is None


def test_bench_record_writes_a_stereo_wav_and_indexes_it(tmp_path: Path) -> None:
    setup = _setup(tmp_path)
    leg = FakeLeg()
    setup.diagnostics.start("leg", "call-1@host", BENCH_RECORD, leg)
    loud = PCMA.encode(np.full(160, 8000, dtype=np.int16))
    for n in range(151):
        if n < 150:
            leg.hear(loud, 100 + n)
        leg.tick()
        setup.clock.now += 0.02
    assert setup.hangups == ["leg"]
    fields = setup.diagnostics.end("leg")
    assert fields["service"] == BENCH_RECORD and fields["recording"] == "call-1@host"
    [index] = setup.indexed
    assert index.call_id == "call-1@host" and index.duration == 3.0
    assert index.path.parent == tmp_path / "recordings" / "2026" / "11" / "25"
    with wave.open(str(index.path)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (2, 8000, 2)
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    assert len(stereo) == 24000
    assert int(np.abs(stereo[:, 0]).min()) > 7000  # the caller, left
    assert int(np.abs(stereo[:, 1].astype(np.int32)).max()) > 1000  # the prompt, right
    [line] = (tmp_path / "recordings" / "index.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert record["path"] == "recordings/2026/11/25/call-1@host.wav" and record["duration"] == 3.0
    assert record["size"] == index.size == index.path.stat().st_size
    assert [e["event"] for e in setup.journal_lines()] == ["recording"]


def test_recording_hook_failure_does_not_lose_the_index_line(tmp_path: Path) -> None:
    setup = _setup(tmp_path, hook_fails=True)
    leg = FakeLeg()
    setup.diagnostics.start("leg", "cid", BENCH_RECORD, leg)
    leg.hear(b"\x55" * 160, 1)
    setup.diagnostics.end("leg")
    assert len(setup.indexed) == 1
    assert len((tmp_path / "recordings" / "index.jsonl").read_text().splitlines()) == 1


def test_keeper_recovers_recordings_cut_off_by_a_crash(tmp_path: Path) -> None:
    import datetime as dt

    setup = _setup(tmp_path)
    started = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
    crashed = CallRecorder(tmp_path, "crashed-call", started, PCMA, PCMA)
    for _ in range(50):
        crashed.tick(b"\x80" * 160, b"\xd5" * 160)
    crashed.flush()  # the process dies here: no finish()
    [index] = setup.keeper.recover()
    assert index.call_id == "crashed-call" and index.duration == 1.0 and index.path.exists()
    assert setup.indexed == [index]
    assert json.loads((tmp_path / "recordings" / "index.jsonl").read_text())["recovered"] is True


def test_the_index_line_lists_the_ranges_a_recording_was_paused(tmp_path: Path) -> None:
    import datetime as dt

    setup = _setup(tmp_path)
    recorder = CallRecorder(tmp_path, "private", dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC), PCMA, PCMA)
    for n in range(200):
        if n in (50, 150):
            recorder.pause()
        if n == 100:
            recorder.resume()
        recorder.tick(b"\x80" * 160, b"\xd5" * 160)
    setup.keeper.add(recorder.finish())
    lines = [json.loads(line) for line in (tmp_path / "recordings" / "index.jsonl").read_text().splitlines()]
    assert lines[0]["pauses"] == "1-2,3-4" and lines[0]["duration"] == 4.0
    setup.keeper.add(CallRecorder(tmp_path, "plain", recorder.started_at, PCMA, PCMA).finish())
    assert "pauses" not in json.loads((tmp_path / "recordings" / "index.jsonl").read_text().splitlines()[1])


def test_caller_track_fills_holes_with_silence_and_drops_late_packets(tmp_path: Path) -> None:
    import datetime as dt

    recorder = CallRecorder(tmp_path, "gaps", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), PCMA, PCMA)
    track = CallerTrack(recorder)
    frame = b"\x80" * 160
    track(frame, Arrival(True, 10))
    track(frame, Arrival(True, 13))  # 11 and 12 lost
    track(frame, Arrival(True, 12))  # arrives late: already written as silence
    track(frame, Arrival(True, 500, restarted=True))  # new source: no gap filled
    assert recorder.a_samples == 5 * 160
    recorder.finish()


def test_player_feed_skips_with_the_pacer_and_measures_length() -> None:
    clock = Clock(0.0)
    feed = PlayerFeed(Player([Silence(0.1)], PCMA), clock)
    assert feed.length is None
    assert feed(0) is not None
    clock.now = 0.02
    assert feed(3) is not None  # three periods skipped: frame 5 of 5
    clock.now = 0.1
    assert feed(0) is None
    assert feed.length == pytest.approx(0.1)


def test_echo_feed_drops_what_the_pacer_skipped() -> None:
    echo = EchoFeed(depth=5)
    for n in range(4):
        echo.consume(bytes([n]) * 10, Arrival(True, n))
    assert echo(2) == bytes([2]) * 10
    assert echo.echoed == 1


def test_caller_track_starts_on_the_recordings_time_line(tmp_path: Path) -> None:
    import datetime as dt

    clock = Clock(10.0)
    recorder = CallRecorder(tmp_path, "late", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), PCMA, PCMA)
    track = CallerTrack(recorder, clock)
    clock.now = 10.2  # the caller's audio starts 200 ms after the answer
    track(b"\x80" * 240, Arrival(True, 7))
    assert recorder.a_samples == 10 * 160 + 240
    recorder.finish()



def test_bench_prompt_file_is_looked_at_once_a_second_not_per_call(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    shipped = DEFAULT_PROMPT_DIR / f"{BENCH_PROMPT}.wav"
    journal = Journal(None, io.StringIO())
    clock = Clock()
    diagnostics = Diagnostics(PromptLibrary([prompts, DEFAULT_PROMPT_DIR]), RecordingKeeper(tmp_path, journal,
                              lambda: WALL), hangup=lambda call: None, clock=clock, wallclock=lambda: WALL,
                              bench=True)
    # an upload replaces the shipped prompt: a one-frame prompt of its own
    header = (b"RIFF" + (36 + 160).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
              + (6).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little")
              + (8000).to_bytes(4, "little") + (1).to_bytes(2, "little") + (8).to_bytes(2, "little")
              + b"data" + (160).to_bytes(4, "little"))
    (prompts / shipped.name).write_bytes(header + bytes([0x11]) * 160)

    def frames_played() -> int:
        leg = FakeLeg()
        diagnostics.start("leg", "cid", BENCH_PLAY, leg)
        while leg.tick() is not None:
            pass
        diagnostics.end("leg")
        return len(leg.sent)

    assert frames_played() == 150  # the shipped prompt, loaded at start, is still fresh
    clock.now += 1.0
    assert frames_played() == 1  # a second later the upload is noticed
