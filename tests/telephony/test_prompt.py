"""Prompt loading (PCM16, A-law, μ-law WAV), sox conversion, the library, the player and barge-in."""

from __future__ import annotations

import json
import os
import random
import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from waterline.rtp.g711 import PCMA, PCMU, alaw_encode, ulaw_encode
from waterline.rtp.packet import parse_packet
from waterline.rtp.stream import SendStream
from waterline.telephony.prompt import (
    DEFAULT_PROMPT_DIR,
    PlaybackSource,
    Player,
    Prompt,
    PromptError,
    PromptLibrary,
    Silence,
    convert_upload,
    load_prompt,
    parse_wav,
    prompt_from_wav,
)


def _tone(samples: int, rate: int = 8000, freq: float = 440.0) -> np.ndarray:
    t = np.arange(samples) / rate
    return (np.sin(2 * np.pi * freq * t) * 8000).astype(np.int16)


def _wav_bytes(tag: int, bits: int, data: bytes, rate: int = 8000, channels: int = 1,
               extra_chunk: bool = False) -> bytes:
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if extra_chunk:
        chunks += b"LIST" + struct.pack("<I", 3) + b"abc\x00"  # odd size, padded to even
    chunks += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def _write_pcm16(path: Path, samples: np.ndarray, rate: int = 8000, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return path


def test_pcm16_wav_becomes_frames_of_both_laws_padded_with_silence(tmp_path: Path) -> None:
    samples = _tone(400)
    prompt = load_prompt(_write_pcm16(tmp_path / "hello.wav", samples))
    assert prompt.name == "hello"
    assert len(prompt) == 3 and prompt.duration == pytest.approx(0.060)
    assert all(len(f) == 160 for f in prompt.pcmu + prompt.pcma)
    assert b"".join(prompt.frames(PCMU))[:400] == ulaw_encode(samples)
    assert b"".join(prompt.frames(PCMA))[:400] == alaw_encode(samples)
    assert prompt.pcmu[-1][80:] == bytes([PCMU.silence]) * 80
    assert prompt.pcma[-1][80:] == bytes([PCMA.silence]) * 80


def test_alaw_wav_is_kept_octet_for_octet() -> None:
    codes = bytes(random.Random(1).randrange(256) for _ in range(320))
    prompt = prompt_from_wav("a", parse_wav(_wav_bytes(6, 8, codes, extra_chunk=True)))
    assert b"".join(prompt.pcma) == codes
    assert b"".join(prompt.pcmu) == PCMA.transcode_to(PCMU, codes)


def test_ulaw_wav_in_extensible_format_is_kept_octet_for_octet() -> None:
    codes = bytes(range(160))
    fmt = struct.pack("<HHIIHHHHIH14s", 0xFFFE, 1, 8000, 8000, 1, 8, 22, 8, 4, 7, b"\x00" * 14)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", 160) + codes
    content = b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks
    prompt = prompt_from_wav("u", parse_wav(content))
    assert prompt.pcmu == (codes,)


def test_truncated_data_chunk_plays_what_is_there() -> None:
    content = _wav_bytes(6, 8, bytes(320))[:-100]
    assert len(parse_wav(content).data) == 220


@pytest.mark.parametrize(
    "content",
    [
        b"not a wav at all",
        _wav_bytes(1, 16, bytes(320), rate=16000),
        _wav_bytes(1, 16, bytes(320), channels=2),
        _wav_bytes(1, 8, bytes(320)),
        _wav_bytes(3, 32, bytes(320)),
        b"RIFF\x04\x00\x00\x00WAVE",
    ],
)
def test_unplayable_files_raise_prompt_error(content: bytes) -> None:
    with pytest.raises(PromptError):
        prompt_from_wav("x", parse_wav(content))


def test_sox_converts_an_upload_to_8khz_mono(tmp_path: Path) -> None:
    stereo = np.repeat(_tone(16000, rate=16000), 2)  # 1 s at 16 kHz, two channels
    source = _write_pcm16(tmp_path / "upload.wav", stereo, rate=16000, channels=2)
    with pytest.raises(PromptError):
        load_prompt(source)
    target = convert_upload(source, tmp_path / "prompts" / "greeting.wav")
    audio = parse_wav(target.read_bytes())
    assert (audio.rate, audio.channels, audio.bits) == (8000, 1, 16)
    prompt = load_prompt(target)
    assert prompt.duration == pytest.approx(1.0, abs=0.021)
    assert not list((tmp_path / "prompts").glob("*.part*"))


def test_sox_failure_is_a_prompt_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"garbage")
    with pytest.raises(PromptError):
        convert_upload(bad, tmp_path / "out.wav")
    assert not (tmp_path / "out.wav").exists()


def test_library_prefers_uploaded_prompts_and_caches(tmp_path: Path) -> None:
    uploads, shipped = tmp_path / "uploads", tmp_path / "shipped"
    uploads.mkdir()
    shipped.mkdir()
    _write_pcm16(shipped / "greeting.wav", _tone(160))
    _write_pcm16(shipped / "menu.wav", _tone(320))
    _write_pcm16(uploads / "greeting.wav", _tone(480))
    (shipped / "manifest.json").write_text(json.dumps({"prompts": {"menu": {"text": "订水请按1"}}}),
                                           encoding="utf-8")
    library = PromptLibrary([uploads, shipped])
    assert len(library.get("greeting")) == 3
    assert len(library.get("menu")) == 2
    assert library.get("greeting") is library.get("greeting")
    assert library.names() == ["greeting", "menu"]
    assert library.texts() == {"menu": "订水请按1"}
    (uploads / "greeting.wav").unlink()
    assert len(library.get("greeting")) == 1  # the shipped one again, without a restart
    library.invalidate("greeting")
    assert len(library.get("greeting")) == 1
    for bad in ("missing", "../menu", ""):
        with pytest.raises(PromptError):
            library.get(bad)


def test_library_notices_an_upload_written_by_another_process(tmp_path: Path) -> None:
    uploads, shipped = tmp_path / "uploads", tmp_path / "shipped"
    uploads.mkdir()
    shipped.mkdir()
    _write_pcm16(shipped / "greeting.wav", _tone(160))
    library = PromptLibrary([uploads, shipped])
    assert len(library.get("greeting")) == 1
    _write_pcm16(uploads / "greeting.wav", _tone(480))  # an upload now overrides the shipped prompt
    assert len(library.get("greeting")) == 3
    _write_pcm16(uploads / "greeting.wav", _tone(320))  # replaced in place: a different mtime
    os.utime(uploads / "greeting.wav", ns=(1_000_000_000, 1_000_000_000))
    assert len(library.get("greeting")) == 2


def test_shipped_default_prompts_load() -> None:
    library = PromptLibrary([DEFAULT_PROMPT_DIR])
    names = library.names()
    for required in ("greeting", "menu", "order_confirmation", "goodbye", "agents_busy", "after_hours",
                     "voicemail", "survey"):
        assert required in names
        prompt = library.get(required)
        assert 0.5 < prompt.duration < 30
        # spoken audio, not silence
        assert len(set(b"".join(prompt.pcma))) > 20
    assert set(library.texts()) >= set(names)


def _prompt(name: str, frames: int, fill: int) -> Prompt:
    frame = bytes([fill]) * 160
    return Prompt(name, (frame,) * frames, (frame,) * frames)


def test_player_walks_the_playlist_with_silence_and_reports_done_once() -> None:
    done: list[Player] = []
    player = Player([_prompt("a", 2, 1), Silence(0.040), _prompt("b", 1, 2)], PCMU, on_done=done.append)
    assert player.total_frames == 5
    frames = [player.next_frame() for _ in range(7)]
    assert frames[:5] == [bytes([1]) * 160] * 2 + [bytes([0xFF]) * 160] * 2 + [bytes([2]) * 160]
    assert frames[5:] == [None, None]
    assert player.done and done == [player] and player.interrupted_by is None


def test_barge_in_stops_on_configured_digits_only() -> None:
    player = Player([_prompt("a", 10, 1)], PCMA, barge_in="12")
    player.next_frame()
    assert not player.digit("#")
    assert player.next_frame() is not None
    assert player.digit("1")
    assert player.next_frame() is None and player.interrupted_by == "1"
    assert not player.digit("2")  # already stopped

    must_hear = Player([_prompt("a", 2, 1)], PCMA, barge_in="")
    assert not must_hear.digit("5")
    assert must_hear.next_frame() is not None


def test_player_skip_keeps_time_across_items() -> None:
    player = Player([_prompt("a", 2, 1), _prompt("b", 3, 2)], PCMU)
    player.next_frame()
    player.skip(2)
    assert player.next_frame() == bytes([2]) * 160
    assert player.next_frame() == bytes([2]) * 160
    player.skip(5)
    assert player.done and player.next_frame() is None


def test_playback_source_sends_rtp_with_marker_and_keeps_timestamps_after_skips() -> None:
    stream = SendStream(random.Random(7), PCMA.payload_type)
    source = PlaybackSource(Player([_prompt("a", 5, 3)], PCMA), stream)
    first = parse_packet(source(0) or b"")
    second = parse_packet(source(0) or b"")
    assert first.marker and not second.marker
    assert first.payload_type == 8 and bytes(first.payload) == bytes([3]) * 160
    assert second.sequence == (first.sequence + 1) & 0xFFFF
    assert second.timestamp == (first.timestamp + 160) & 0xFFFFFFFF
    third = parse_packet(source(2) or b"")  # two periods skipped by the pacer
    assert third.timestamp == (second.timestamp + 3 * 160) & 0xFFFFFFFF
    assert third.sequence == (second.sequence + 1) & 0xFFFF
    assert source(0) is None
    assert source.player.done
