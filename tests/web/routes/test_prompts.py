"""The prompts API: list shipped + uploaded, upload with conversion, synthesis, revert, bad input."""

from __future__ import annotations

import io
import wave

import numpy as np

from waterline.telephony.prompt import load_prompt

from ..conftest import WebEnv


def _cd_quality_wav(seconds: float = 1.0) -> bytes:
    """44.1 kHz stereo PCM16: what a business records on a PC, not what a phone line plays."""
    t = np.arange(int(44100 * seconds)) / 44100
    tone = (np.sin(2 * np.pi * 440 * t) * 12000).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(44100)
        wav.writeframes(np.repeat(tone, 2).tobytes())
    return buffer.getvalue()


def _by_name(web: WebEnv, headers: dict[str, str]) -> dict[str, dict[str, object]]:
    response = web.client.get("/api/prompts", headers=headers)
    assert response.status_code == 200, response.text
    return {p["name"]: p for p in response.json()}


def test_list_shows_shipped_prompts_with_text_and_duration(web: WebEnv) -> None:
    prompts = _by_name(web, web.auth("manager"))
    greeting = prompts["greeting"]
    assert greeting["source"] == "shipped" and greeting["shipped"] is True
    assert "欢迎" in str(greeting["text"])
    assert 5.0 < float(str(greeting["duration"])) < 15.0
    assert {"menu", "goodbye", "agents_busy", "after_hours", "voicemail", "survey"} <= set(prompts)


def test_only_managers_and_owners(web: WebEnv) -> None:
    assert web.client.get("/api/prompts", headers=web.auth("owner")).status_code == 200
    for role in ("dispatcher", "agent", "courier"):
        assert web.client.get("/api/prompts", headers=web.auth(role)).status_code == 403
        upload = web.client.post("/api/prompts/greeting", headers=web.auth(role),
                                 files={"file": ("a.wav", _cd_quality_wav(), "audio/wav")})
        assert upload.status_code == 403
    assert web.client.get("/api/prompts").status_code == 401


def test_upload_converts_and_overrides_the_shipped_prompt(web: WebEnv) -> None:
    headers = web.auth("manager")
    response = web.client.post(
        "/api/prompts/greeting", headers=headers, data={"text": "您好，这是新的问候语。"},
        files={"file": ("greeting-studio.wav", _cd_quality_wav(1.0), "audio/wav")},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["source"] == "uploaded" and body["shipped"] is True
    assert body["text"] == "您好，这是新的问候语。"
    assert abs(body["duration"] - 1.0) < 0.05
    stored = web.settings.data_dir / "prompts" / "greeting.wav"
    with wave.open(str(stored), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
    assert len(load_prompt(stored)) == 50  # 1 s = 50 frames of 20 ms
    assert _by_name(web, headers)["greeting"]["source"] == "uploaded"
    # a new name is a new prompt (for flows of the business's own)
    extra = web.client.post("/api/prompts/holiday-notice", headers=headers,
                            files={"file": ("x.wav", _cd_quality_wav(0.5), "audio/wav")})
    assert extra.status_code == 201
    assert extra.json()["shipped"] is False and extra.json()["text"] == ""


def test_bad_uploads_are_refused_in_both_languages(web: WebEnv) -> None:
    headers = web.auth("owner")
    garbage = web.client.post("/api/prompts/menu", headers=headers,
                              files={"file": ("menu.wav", b"RIFF-not-really-audio" * 20, "audio/wav")})
    assert garbage.status_code == 422
    body = garbage.json()
    assert body["error"] == "prompt.unreadable" and "提示音" in body["message_zh"] and body["message_en"]
    nothing = {"file": ("menu.mp3", b"", "audio/mpeg")}
    empty = web.client.post("/api/prompts/menu", headers=headers, files=nothing)
    assert empty.status_code == 422
    bad_name = web.client.post("/api/prompts/..%2Fevil", headers=headers,
                               files={"file": ("a.wav", _cd_quality_wav(0.2), "audio/wav")})
    assert bad_name.status_code in (404, 422)
    upper = web.client.post("/api/prompts/Menu", headers=headers,
                            files={"file": ("a.wav", _cd_quality_wav(0.2), "audio/wav")})
    assert upper.status_code == 422 and upper.json()["error"] == "prompt.bad_name"
    # nothing was replaced and no temporary files were left behind
    uploads = web.settings.data_dir / "prompts"
    assert not (uploads / "menu.wav").exists()
    assert not list(uploads.glob(".upload-*"))
    assert _by_name(web, headers)["menu"]["source"] == "shipped"


def test_tts_synthesises_a_prompt_then_revert_restores_the_default(web: WebEnv) -> None:
    headers = web.auth("manager")
    response = web.client.post("/api/prompts/goodbye/tts", headers=headers, json={"text": "谢谢，再见。"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["source"] == "uploaded" and body["text"] == "谢谢，再见。"
    assert 0.5 < body["duration"] < 5.0
    assert len(load_prompt(web.settings.data_dir / "prompts" / "goodbye.wav")) > 10
    assert web.client.delete("/api/prompts/goodbye", headers=headers).status_code == 204
    restored = _by_name(web, headers)["goodbye"]
    assert restored["source"] == "shipped" and "再见" in str(restored["text"])
    missing = web.client.delete("/api/prompts/goodbye", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"] == "prompt.not_uploaded"


def test_tts_with_nothing_to_say_is_422(web: WebEnv) -> None:
    headers = web.auth("manager")
    silent = web.client.post("/api/prompts/menu/tts", headers=headers, json={"text": "，。！"})
    assert silent.status_code == 422 and silent.json()["error"] == "prompt.tts_failed"
    assert web.client.post("/api/prompts/menu/tts", headers=headers, json={"text": ""}).status_code == 422
