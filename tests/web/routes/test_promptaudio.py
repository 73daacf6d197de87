"""GET /api/prompts/{name}/audio: the prompt as the caller hears it, as 16-bit PCM WAV for a browser."""

from __future__ import annotations

import io
import wave

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


def test_unknown_prompt_and_roles(web: WebEnv) -> None:
    missing = web.client.get("/api/prompts/nope/audio", headers=web.auth("owner"))
    assert missing.status_code == 404 and missing.json()["error"] == "prompt.not_found"
    assert web.client.get("/api/prompts/../audio", headers=web.auth("owner")).status_code == 404
    assert web.client.get("/api/prompts/goodbye/audio", headers=web.auth("agent")).status_code == 403
    assert web.client.get("/api/prompts/goodbye/audio").status_code == 401
