"""Diagnostic extensions: ``*43`` echo test, ``bench-play`` and ``bench-record``.

They exist to check and measure the media engine, with exactly the semantics of the Asterisk
dialplan we compare against, and live here only until the flow engine (``waterline.calls``) can
express them as ordinary flows:

- ``*43``: answer, send back what the caller sends (same codec), until the caller hangs up;
- ``bench-play``: answer, play a 3.0 s prompt, hang up (our BYE);
- ``bench-record``: answer, record both directions to a stereo WAV (caller left), play the 3.0 s
  prompt, hang up.

Recordings are indexed by :class:`RecordingKeeper`: one JSON line per finished recording in
``<data_dir>/recordings/index.jsonl``, a ``recording`` journal event, and a hook (``on_recording``)
through which the engine's owner persists the index in the store.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from waterline.rtp.g711 import Law
from waterline.rtp.packet import Payload
from waterline.rtp.stream import Arrival
from waterline.telephony.journal import Journal, JournalValue
from waterline.telephony.media import AudioConsumer, Feed
from waterline.telephony.pacer import FrameQueue
from waterline.telephony.prompt import Player, Prompt, PromptLibrary
from waterline.telephony.recording import CallRecorder, Opener, RecordingIndex, recover

__all__ = [
    "BENCH_PLAY",
    "BENCH_PROMPT",
    "BENCH_RECORD",
    "ECHO_EXTENSION",
    "CallerTrack",
    "Diagnostics",
    "EchoFeed",
    "Leg",
    "Offload",
    "PlayerFeed",
    "RecordingKeeper",
    "run_now",
]

_log = logging.getLogger(__name__)

ECHO_EXTENSION = "*43"
BENCH_PLAY = "bench-play"
BENCH_RECORD = "bench-record"
BENCH_PROMPT = "bench_3s"
"""The shipped prompt of exactly 3.0 s (150 frames) the benchmark services play."""
INDEX_FILE = "index.jsonl"
ECHO_DEPTH = 5
"""Frames the echo queue holds: about 100 ms of latency at most, older frames are dropped."""
MAX_GAP_FRAMES = 50
"""Silence written for one hole in the caller's sequence numbers at most (a second)."""
MAX_LEAD_FRAMES = 500
"""Silence written before the caller's first packet at most (ten seconds)."""
FRAME_SECONDS = 0.020
PROMPT_RECHECK = 1.0
"""Seconds between two looks at the benchmark prompt's file (a replaced file is played from then on)."""

Offload = Callable[[Callable[[], RecordingIndex], Callable[[RecordingIndex], None]], None]
"""``offload(work, done)``: run blocking ``work`` somewhere, then ``done(result)`` back on the loop."""


class Leg(Protocol):
    """What a service needs of a call's media (a :class:`~waterline.telephony.media.MediaSession`)."""

    law: Law
    consumers: list[AudioConsumer]
    outbound_tap: Callable[[bytes], None] | None

    def play(self, feed: Feed | None) -> None:
        """Send ``feed``'s payloads from now on."""


def run_now(work: Callable[[], RecordingIndex], done: Callable[[RecordingIndex], None]) -> None:
    """An :data:`Offload` that runs the work at once, in the caller (tests, tools)."""
    done(work())


class PlayerFeed:
    """A session feed that plays a :class:`Player`, and notes when its first and last frames went out.

    ``started``/``ended`` (``clock`` time) give the prompt's length as sent: under load it must not
    stretch (the benchmark reports it). An ``owner`` is told once, with this feed, when the playlist has
    gone out; the link is dropped when it fires (or when the owner clears ``owner`` to stop listening),
    so a call's objects never form reference cycles: cycles left for the garbage collector made its
    collections frequent at benchmark rates, and each one pauses the loop (and the pacer) for up to a
    few hundred milliseconds on a busy machine. ``token`` is the owner's name for this playback.
    """

    __slots__ = ("clock", "ended", "owner", "player", "started", "token")

    def __init__(self, player: Player, clock: Callable[[], float],
                 owner: Callable[[PlayerFeed], None] | None = None, token: int | None = None) -> None:
        self.player = player
        self.clock = clock
        self.owner = owner
        self.token = token
        self.started: float | None = None
        self.ended: float | None = None

    def __call__(self, skipped: int) -> bytes | None:
        player = self.player
        if skipped:
            player.skip(skipped)
        frame = player.next_frame()
        if frame is None:
            if self.ended is None:
                self.ended = self.clock()
                owner, self.owner = self.owner, None
                if owner is not None:
                    owner(self)
            return None
        if self.started is None:
            self.started = self.clock()
        return frame

    @property
    def length(self) -> float | None:
        """Seconds from the first frame sent to the period after the last one (None until done)."""
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started


class EchoFeed:
    """Consumer and feed at once: what the caller sends is queued and sent back on the next periods.

    With a ``leg`` the feed starts playing on it when the first payload arrives: until the caller sends
    something there is nothing to send back, and a leg given no feed costs the pacer nothing (a
    signalling-only test call, the SIP benchmark's, never carries media).
    """

    def __init__(self, depth: int = ECHO_DEPTH, leg: Leg | None = None) -> None:
        self._queue = FrameQueue(depth)
        self._leg = leg
        self.echoed = 0

    def consume(self, payload: Payload, arrival: Arrival) -> None:
        """Queue one received payload (copied: the view dies with its datagram)."""
        self._queue.put(bytes(payload))
        leg = self._leg
        if leg is not None:
            self._leg = None  # once: and the leg (which holds this feed) is not held back in a cycle
            leg.play(self)

    def __call__(self, skipped: int) -> bytes | None:
        frame = self._queue(skipped)
        if frame is not None:
            self.echoed += 1
        return frame


class CallerTrack:
    """Writes the caller's audio to a recorder's left channel, holes in the sequence as silence.

    With a ``clock`` the time from the track's creation to the caller's first packet is written as
    silence too, so both channels start together (we play from the answer; the caller's audio
    typically starts after its ACK).
    """

    def __init__(self, recorder: CallRecorder, clock: Callable[[], float] | None = None) -> None:
        self._recorder = recorder
        self._next: int | None = None
        self._clock = clock
        self._started = clock() if clock is not None else 0.0

    def __call__(self, payload: Payload, arrival: Arrival) -> None:
        expected = self._next
        seq = arrival.extended_seq
        if expected is None and self._clock is not None:
            lead = min(round((self._clock() - self._started) / FRAME_SECONDS), MAX_LEAD_FRAMES)
            for _ in range(lead):
                self._recorder.write_a(None)
        recorder = self._recorder
        if expected is not None and not arrival.restarted:
            if seq < expected:
                return  # late or duplicated: its place on the time line is already written
            if seq > expected:
                silence = recorder.a_law.silence_frame(len(payload))
                for _ in range(min(seq - expected, MAX_GAP_FRAMES)):
                    recorder.write_a(silence)
        # the view itself: the recorder copies it into its buffer at once (no bytes object per packet)
        recorder.write_a(payload)
        self._next = seq + 1


class RecordingKeeper:
    """Indexes finished recordings: ``recordings/index.jsonl``, the journal, and the store hook."""

    def __init__(self, data_dir: Path, journal: Journal, wallclock: Callable[[], float],
                 on_recording: Callable[[RecordingIndex], None] | None = None) -> None:
        """``on_recording(index)`` is called for each finished (or recovered) recording, on the loop."""
        self.data_dir = data_dir
        self.index_path = data_dir / "recordings" / INDEX_FILE
        self._journal = journal
        self._wallclock = wallclock
        self._on_recording = on_recording
        self.indexed = 0

    def add(self, index: RecordingIndex, *, recovered: bool = False) -> None:
        """Index one finished recording (path relative to the data dir when it lies inside it)."""
        try:
            path = str(index.path.relative_to(self.data_dir))
        except ValueError:
            path = str(index.path)
        record: dict[str, JournalValue] = {
            "call_id": index.call_id, "path": path, "started_at": index.started_at.isoformat(),
            "duration": round(index.duration, 3), "size": index.size, "recovered": recovered,
        }
        if index.pauses:  # recording paused on demand: those seconds are silence ("12.34-20.1,31-33.5")
            record["pauses"] = ",".join(f"{start:g}-{end:g}" for start, end in index.pauses)
        self.index_path.parent.mkdir(parents=True, exist_ok=True)
        with self.index_path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._journal.write("recording", self._wallclock(), **record)
        self.indexed += 1
        if self._on_recording is not None:
            try:
                self._on_recording(index)
            except Exception:
                # the WAV and the JSON line exist; a failing store must not take the engine down
                _log.exception("recording hook failed for %s", index.call_id)

    def recover(self) -> list[RecordingIndex]:
        """Turn recordings cut off by a crash into WAVs and index them (engine start, before calls)."""
        recovered = recover(self.data_dir)
        for index in recovered:
            self.add(index, recovered=True)
        return recovered


@dataclass(slots=True)
class _Running:
    number: str
    feed: PlayerFeed | None
    recorder: CallRecorder | None


class Diagnostics:
    """Runs the diagnostic services on answered calls' media sessions.

    ``hangup(call)`` must end the leg with a BYE (the engine schedules it on the loop); ``bench``
    enables all three, ``*43``, ``bench-play`` and ``bench-record`` (demo mode or the diagnostics
    setting): elsewhere a stranger who finds the number must not be able to load the engine with
    echo calls or benchmark recordings, and those extensions answer 404.
    """

    def __init__(self, prompts: PromptLibrary, keeper: RecordingKeeper, *, hangup: Callable[[str], None],
                 clock: Callable[[], float], wallclock: Callable[[], float], bench: bool,
                 timezone: dt.tzinfo = dt.UTC, offload: Offload = run_now,
                 opener: Opener | None = None) -> None:
        """``opener(work)`` opens recordings' files off the loop (by default one thread of this object's,
        so the opens run in order and never on the media loop)."""
        self._prompts = prompts
        self._keeper = keeper
        self._hangup = hangup
        self._clock = clock
        self._wallclock = wallclock
        self._timezone = timezone
        self._offload = offload
        self._opener = opener
        self._files: ThreadPoolExecutor | None = None
        self.bench = bench
        self._running: dict[str, _Running] = {}
        self._bench_prompt: Prompt | None = None
        self._prompt_checked = 0.0
        if bench:
            self._prompt()  # load it now, not during the first call

    def accepts(self, number: str) -> bool:
        """Whether ``number`` is a diagnostic service that is enabled."""
        return self.bench and number in (ECHO_EXTENSION, BENCH_PLAY, BENCH_RECORD)

    def start(self, call: str, call_id: str, number: str, session: Leg) -> None:
        """Start the service of ``number`` on an answered call's configured session."""
        if number == ECHO_EXTENSION:
            echo = EchoFeed(leg=session)  # plays once the caller's first packet is heard
            session.consumers.append(echo.consume)
            self._running[call] = _Running(number, None, None)
            return
        recorder = None
        if number == BENCH_RECORD:
            started_at = dt.datetime.fromtimestamp(self._wallclock(), self._timezone)
            recorder = CallRecorder(self._keeper.data_dir, call_id, started_at, session.law, session.law,
                                    opener=self._open_off_loop)
            session.consumers.append(CallerTrack(recorder, self._clock))
            session.outbound_tap = recorder.write_b
        player = Player([self._prompt()], session.law, barge_in="",
                        on_done=lambda _: self._hangup(call))
        feed = PlayerFeed(player, self._clock)
        session.play(feed)
        self._running[call] = _Running(number, feed, recorder)

    def _open_off_loop(self, work: Callable[[], None]) -> None:
        if self._opener is not None:
            self._opener(work)
            return
        if self._files is None:
            self._files = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recording-files")
        self._files.submit(work)

    def close(self) -> None:
        """Let the recording-files thread end once its queued work is done (engine stop)."""
        if self._files is not None:
            self._files.shutdown(wait=False)
            self._files = None

    def _prompt(self) -> Prompt:
        # the library looks at the file system on every get (an upload may have replaced the prompt),
        # ~60 us: at hundreds of calls a second, once a second is soon enough
        now = self._clock()
        if self._bench_prompt is None or now - self._prompt_checked >= PROMPT_RECHECK:
            self._bench_prompt = self._prompts.get(BENCH_PROMPT)
            self._prompt_checked = now
        return self._bench_prompt

    def end(self, call: str) -> dict[str, JournalValue]:
        """The call is over (its session closed): finish its recording; returns fields for the journal."""
        running = self._running.pop(call, None)
        if running is None:
            return {}
        fields: dict[str, JournalValue] = {"service": running.number}
        if running.feed is not None:
            length = running.feed.length
            fields["prompt_s"] = None if length is None else round(length, 3)
        if running.recorder is not None:
            recorder = running.recorder
            recorder.align()  # the channel that stopped early is padded to the call's end
            fields["recording"] = recorder.stem
            self._offload(recorder.finish, self._keeper.add)
        return fields

    @property
    def running(self) -> int:
        """Calls currently in a diagnostic service."""
        return len(self._running)
