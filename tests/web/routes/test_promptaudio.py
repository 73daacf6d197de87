"""GET /api/prompts/{name}/audio: the prompt as the caller hears it, as 16-bit PCM WAV for a browser."""

from __future__ import annotations

import io
import subprocess
import wave
from pathlib import Path

import numpy as np

from waterline.rtp.g711 import alaw_decode
from waterline.telephony.prompt import DEFAULT_PROMPT_DIR, parse_wav

from ..conftest import WebEnv


def _read(content: bytes) -> tuple[int, int, int, np.ndarray]:
    with wave.open(io.BytesIO(content), "rb") as reader:
        frames = reader.readframes(reader.getnframes())
        samples = np.frombuffer(frames, "<i2")
        return reader.getnchannels(), reader.getsampwidth(), reader.getframerate(), samples


def test_a_shipped_a_law_prompt_comes_as_pcm16(web: WebEnv) -> None:
    response = web.client.get("/api/prompts/goodbye/audio", headers=web.auth("manager"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["cache-control"] == "no-cache"
    channels, width, rate, samples = _read(response.content)
    assert (channels, width, rate) == (1, 2, 8000)
    shipped = parse_wav((DEFAULT_PROMPT_DIR / "goodbye.wav").read_bytes())
    expected = alaw_decode(shipped.data)
    # whole 20 ms frames (padded with silence); A-law → μ-law → PCM differs from A-law → PCM by
    # at most a quantisation step
    assert len(samples) == -(-len(expected) // 160) * 160
    assert np.max(np.abs(samples[: len(expected)].astype(int) - expected.astype(int))) < 0.05 * 32768
    assert np.std(samples) > 100  # speech, not silence


def test_an_uploaded_prompt_replaces_the_shipped_one(web: WebEnv) -> None:
    headers = web.auth("manager")
    tone = (np.sin(2 * np.pi * 1000 * np.arange(8000) / 8000) * 8000).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(tone.tobytes())
    uploaded = web.client.post("/api/prompts/goodbye", headers=headers,
                               files={"file": ("tone.wav", buffer.getvalue(), "audio/wav")})
    assert uploaded.status_code == 201, uploaded.text
    _, _, _, samples = _read(web.client.get("/api/prompts/goodbye/audio", headers=headers).content)
    assert len(samples) == 8000
    assert np.max(np.abs(samples.astype(int) - tone.astype(int))) < 0.05 * 32768


def test_an_uploaded_mp3_plays_as_8_khz_pcm(web: WebEnv, tmp_path: Path) -> None:
    mp3 = tmp_path / "tone.mp3"
    # what a business gets from a recording app: 44.1 kHz stereo MP3
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", str(mp3), "synth", "1.5", "sine", "440"],
                   check=True)
    headers = web.auth("manager")
    uploaded = web.client.post("/api/prompts/mp3_tone", headers=headers,
                               files={"file": ("tone.mp3", mp3.read_bytes(), "audio/mpeg")})
    assert uploaded.status_code == 201, uploaded.text
    assert 1.4 < uploaded.json()["duration"] < 1.7
    audio = web.client.get("/api/prompts/mp3_tone/audio", headers=headers)
    channels, width, rate, samples = _read(audio.content)
    assert (channels, width, rate) == (1, 2, 8000) and 1.4 * 8000 < len(samples) < 1.7 * 8000
    assert np.std(samples) > 1000  # the tone, not silence


def test_unknown_prompt_and_roles(web: WebEnv) -> None:
    missing = web.client.get("/api/prompts/nope/audio", headers=web.auth("owner"))
    assert missing.status_code == 404 and missing.json()["error"] == "prompt.not_found"
    assert web.client.get("/api/prompts/../audio", headers=web.auth("owner")).status_code == 404
    assert web.client.get("/api/prompts/goodbye/audio", headers=web.auth("agent")).status_code == 403
    assert web.client.get("/api/prompts/goodbye/audio").status_code == 401
