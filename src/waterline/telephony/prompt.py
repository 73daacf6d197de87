"""Voice prompts: WAV files loaded once as ready G.711 frames, playlists, and a player with barge-in.

A prompt is read once (8 kHz mono WAV in PCM16, A-law or μ-law) and kept as 160-octet frames for
both PCMU and PCMA, so playing it costs a list index per 20 ms, never a codec call. A file already in
the leg's law is used octet for octet (no second quantisation). Other formats or rates are converted
by sox when the business uploads them (:func:`convert_upload`), never on the audio path.

:class:`PromptLibrary` resolves names to prompts: the business's uploaded directory first, then the
shipped defaults in ``waterline/prompts`` (see its ``manifest.json``). :class:`Player` walks a playlist
frame by frame and stops on a digit if barge-in allows it; :class:`PlaybackSource` turns a player into
a :class:`~waterline.telephony.pacer.Pacer` source of RTP datagrams.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from waterline.rtp.g711 import PCMA, PCMU, Law, alaw_to_ulaw, ulaw_to_alaw
from waterline.rtp.stream import SendStream

__all__ = [
    "DEFAULT_PROMPT_DIR",
    "FRAME_BYTES",
    "PlaybackSource",
    "Player",
    "Prompt",
    "PromptError",
    "PromptLibrary",
    "Silence",
    "WavAudio",
    "convert_upload",
    "load_prompt",
    "parse_wav",
    "prompt_from_wav",
]

SAMPLE_RATE = 8000
FRAME_SAMPLES = 160
FRAME_BYTES = FRAME_SAMPLES  # one G.711 octet per sample
DEFAULT_PROMPT_DIR = Path(__file__).resolve().parent.parent / "prompts"
ALL_DIGITS = "0123456789*#ABCD"

_FORMAT_PCM = 1
_FORMAT_ALAW = 6
_FORMAT_ULAW = 7
_FORMAT_EXTENSIBLE = 0xFFFE
SOX_TIMEOUT = 60.0


class PromptError(ValueError):
    """A prompt file that cannot be played (not WAV, wrong rate or format, sox failed)."""


@dataclass(frozen=True, slots=True)
class WavAudio:
    """The parts of a WAV file that matter here: format tag, layout and the raw sample data."""

    format_tag: int
    channels: int
    rate: int
    bits: int
    data: bytes


def parse_wav(content: bytes) -> WavAudio:
    """Read the ``fmt `` and ``data`` chunks of a RIFF/WAVE file; raises :class:`PromptError`."""
    if len(content) < 12 or content[:4] != b"RIFF" or content[8:12] != b"WAVE":
        raise PromptError("not a RIFF/WAVE file")
    fmt: tuple[int, int, int, int] | None = None
    data: bytes | None = None
    pos = 12
    while pos + 8 <= len(content) and (fmt is None or data is None):
        chunk_id = content[pos:pos + 4]
        (size,) = struct.unpack_from("<I", content, pos + 4)
        body = content[pos + 8:pos + 8 + size]
        if chunk_id == b"fmt ":
            if len(body) < 16:
                raise PromptError("short fmt chunk")
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
            if tag == _FORMAT_EXTENSIBLE and len(body) >= 26:
                (tag,) = struct.unpack_from("<H", body, 24)  # first two octets of the sub-format GUID
            fmt = (tag, channels, rate, bits)
        elif chunk_id == b"data":
            # a writer killed mid-file leaves a size larger than what follows: take what is there
            data = body
        pos += 8 + size + (size & 1)  # chunks are padded to even length
    if fmt is None or data is None:
        raise PromptError("WAV without fmt or data chunk")
    tag, channels, rate, bits = fmt
    return WavAudio(tag, channels, rate, bits, data)


@dataclass(frozen=True, slots=True)
class Prompt:
    """A prompt ready to play: the same audio as PCMU and as PCMA frames of 160 octets."""

    name: str
    pcmu: tuple[bytes, ...]
    pcma: tuple[bytes, ...]

    def frames(self, law: Law) -> tuple[bytes, ...]:
        """The frames in ``law`` (PCMU or PCMA)."""
        return self.pcmu if law.payload_type == PCMU.payload_type else self.pcma

    def __len__(self) -> int:
        return len(self.pcmu)

    @property
    def duration(self) -> float:
        """Length in seconds (whole frames)."""
        return len(self.pcmu) * FRAME_SAMPLES / SAMPLE_RATE


def _frames(codes: bytes, silence: int) -> tuple[bytes, ...]:
    tail = len(codes) % FRAME_BYTES
    if tail:
        codes += bytes((silence,)) * (FRAME_BYTES - tail)
    return tuple(codes[i:i + FRAME_BYTES] for i in range(0, len(codes), FRAME_BYTES))


def prompt_from_wav(name: str, audio: WavAudio) -> Prompt:
    """Encode parsed WAV audio as a :class:`Prompt`; only 8 kHz mono PCM16/A-law/μ-law is accepted."""
    if audio.rate != SAMPLE_RATE or audio.channels != 1:
        raise PromptError(f"{name}: need 8000 Hz mono, got {audio.rate} Hz x{audio.channels} (convert it)")
    if audio.format_tag == _FORMAT_PCM and audio.bits == 16:
        samples = np.frombuffer(audio.data[: len(audio.data) // 2 * 2], dtype="<i2").astype(np.int16)
        ulaw, alaw = PCMU.encode(samples), PCMA.encode(samples)
    elif audio.format_tag == _FORMAT_ALAW and audio.bits == 8:
        alaw = audio.data
        ulaw = alaw_to_ulaw(alaw)
    elif audio.format_tag == _FORMAT_ULAW and audio.bits == 8:
        ulaw = audio.data
        alaw = ulaw_to_alaw(ulaw)
    else:
        raise PromptError(f"{name}: unsupported WAV format {audio.format_tag}/{audio.bits} bits (convert it)")
    return Prompt(name, _frames(ulaw, PCMU.silence), _frames(alaw, PCMA.silence))


def load_prompt(path: Path, name: str | None = None) -> Prompt:
    """Read and encode one WAV file (a few hundred KB at most; call off the media loop)."""
    return prompt_from_wav(name or path.stem, parse_wav(path.read_bytes()))


def convert_upload(source: Path, target: Path, *, sox: str = "sox", timeout: float = SOX_TIMEOUT) -> Path:
    """Convert any audio file sox reads to an 8 kHz mono PCM16 WAV at ``target`` (written atomically).

    Blocking (runs sox): the web process calls it on upload, in a worker thread.
    """
    executable = shutil.which(sox)
    if executable is None:
        raise PromptError("sox is not installed")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part.wav")
    command = [executable, "-q", str(source), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16",
               "-e", "signed-integer", str(partial)]
    try:
        result = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        partial.unlink(missing_ok=True)
        raise PromptError(f"sox took longer than {timeout} s on {source.name}") from exc
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise PromptError(f"sox could not convert {source.name}: {result.stderr.decode(errors='replace')}")
    os.replace(partial, target)
    return target


class PromptLibrary:
    """Prompts by name, loaded on first use and cached; earlier directories override later ones."""

    def __init__(self, directories: Iterable[Path] = (DEFAULT_PROMPT_DIR,)) -> None:
        """``directories``: e.g. ``[data_dir / "prompts", DEFAULT_PROMPT_DIR]``."""
        self.directories = tuple(directories)
        # name -> (file, its mtime, the prompt): the web process writes uploads into the first
        # directory, and the engine (another process) must pick them up without a restart.
        self._cache: dict[str, tuple[Path, int, Prompt]] = {}

    def path(self, name: str) -> Path:
        """The file that provides prompt ``name``; raises :class:`PromptError` when none does."""
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise PromptError(f"bad prompt name {name!r}")
        for directory in self.directories:
            candidate = directory / f"{name}.wav"
            if candidate.is_file():
                return candidate
        raise PromptError(f"no prompt named {name!r}")

    def get(self, name: str) -> Prompt:
        """Prompt ``name``, from the cache unless its file was replaced, added or removed since."""
        path = self.path(name)
        stamp = path.stat().st_mtime_ns
        cached = self._cache.get(name)
        if cached is not None and cached[0] == path and cached[1] == stamp:
            return cached[2]
        prompt = load_prompt(path, name)
        self._cache[name] = (path, stamp, prompt)
        return prompt

    def invalidate(self, name: str | None = None) -> None:
        """Forget a cached prompt (after an upload replaced it), or all of them."""
        if name is None:
            self._cache.clear()
        else:
            self._cache.pop(name, None)

    def names(self) -> list[str]:
        """Every prompt name available, sorted."""
        found = {p.stem for d in self.directories if d.is_dir() for p in d.glob("*.wav")}
        return sorted(found)

    def texts(self) -> dict[str, str]:
        """What the shipped prompts say, from the manifests of the directories (name -> text)."""
        texts: dict[str, str] = {}
        for directory in reversed(self.directories):
            manifest = directory / "manifest.json"
            if manifest.is_file():
                entries = json.loads(manifest.read_text(encoding="utf-8")).get("prompts", {})
                texts.update({name: str(entry.get("text", "")) for name, entry in entries.items()})
        return texts


@dataclass(frozen=True, slots=True)
class Silence:
    """A pause in a playlist."""

    seconds: float

    def __len__(self) -> int:
        return max(0, round(self.seconds * SAMPLE_RATE / FRAME_SAMPLES))


PlaylistItem = Prompt | Silence


class Player:
    """Plays a playlist to one leg frame by frame; stops early on a barge-in digit.

    ``barge_in`` lists the digits that interrupt (all by default, ``""`` for none: a prompt the caller
    must hear). ``on_done(player)`` is called once when the playlist ends or is interrupted.
    """

    def __init__(self, playlist: Sequence[PlaylistItem], law: Law, *, barge_in: str = ALL_DIGITS,
                 on_done: Callable[[Player], None] | None = None) -> None:
        self.playlist = tuple(playlist)
        self.law = law
        self.barge_in = barge_in
        self._on_done = on_done
        self._silence = law.silence_frame(FRAME_SAMPLES)
        self._item = 0
        self._position = 0
        # the frames of the item being played (None: find the next item): the per-tick fast path
        self._frames: Sequence[bytes] | None = None
        self.frames_played = 0
        self.done = False
        self.interrupted_by: str | None = None

    @property
    def total_frames(self) -> int:
        """Frames in the whole playlist."""
        return sum(len(item) for item in self.playlist)

    def _finish(self) -> None:
        if not self.done:
            self.done = True
            if self._on_done is not None:
                self._on_done(self)

    def next_frame(self) -> bytes | None:
        """The frame for this tick, or None once the playlist is over (or was interrupted)."""
        frames = self._frames
        position = self._position
        if frames is not None and position < len(frames) and not self.done:
            self._position = position + 1
            self.frames_played += 1
            return frames[position]
        while not self.done:
            if self._item >= len(self.playlist):
                self._finish()
                break
            item = self.playlist[self._item]
            if self._position < len(item):
                # a pause as a tuple of references to one silence frame: a few KB for a long pause
                self._frames = ((self._silence,) * len(item) if isinstance(item, Silence)
                                else item.frames(self.law))
                frame = self._frames[self._position]
                self._position += 1
                self.frames_played += 1
                return frame
            self._item += 1
            self._position = 0
            self._frames = None
        return None

    def skip(self, frames: int) -> None:
        """Advance by ``frames`` without playing them (the pacer skipped ticks: stay in time)."""
        remaining = frames
        while remaining > 0 and self._item < len(self.playlist):
            left = len(self.playlist[self._item]) - self._position
            step = min(left, remaining)
            self._position += step
            remaining -= step
            if self._position >= len(self.playlist[self._item]):
                self._item += 1
                self._position = 0
                self._frames = None
        if self._item >= len(self.playlist):
            self._finish()

    def digit(self, digit: str) -> bool:
        """A DTMF digit arrived; returns True when it stopped the playback (barge-in)."""
        if self.done or digit not in self.barge_in:
            return False
        self.interrupted_by = digit
        self._finish()
        return True

    def stop(self) -> None:
        """Stop playing now (hang-up, transfer)."""
        self._finish()


class PlaybackSource:
    """A pacer source that sends a player's frames as RTP packets of ``stream``.

    Silence is sent as audio (not suppressed) so the far end's jitter buffer stays primed; the first
    packet carries the marker bit. Returns None once the player is done.
    """

    def __init__(self, player: Player, stream: SendStream) -> None:
        self.player = player
        self.stream = stream
        stream.start_talkspurt()

    def __call__(self, skipped: int) -> bytes | None:
        if skipped:
            self.player.skip(skipped)
            self.stream.pause(skipped * FRAME_SAMPLES)
        frame = self.player.next_frame()
        if frame is None:
            return None
        return self.stream.frame(frame).serialise()
