"""GET /api/recordings (filters, permissions) and the WAV stream with Range requests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from waterline.adapters.db.recordings import store_recording
from waterline.telephony.recording import RecordingIndex, wav_header

from ..conftest import WebEnv

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


def _wav(data_dir: Path, call_id: str, started_at: dt.datetime, frames: int = 8000) -> RecordingIndex:
    directory = data_dir / "recordings" / started_at.strftime("%Y/%m/%d")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{call_id}.wav"
    # a recognisable ramp so a byte range can be checked against the file
    body = bytes(i % 251 for i in range(frames * 4))
    path.write_bytes(wav_header(frames) + body)
    return RecordingIndex(call_id, path, started_at, frames / 8000, path.stat().st_size)


def _store(web: WebEnv, call_id: str, started_at: dt.datetime, frames: int = 8000) -> int:
    index = _wav(web.settings.data_dir, call_id, started_at, frames)
    return store_recording(web.session_factory, index, data_dir=web.settings.data_dir, now=NOW).id


def test_list_filters_by_time_and_call_id(web: WebEnv) -> None:
    # 01:30 UTC on the 25th is 09:30 in Shaanxi; 17:00 UTC on the 24th is already 01:00 on the 25th there
    _store(web, "early", dt.datetime(2026, 11, 24, 15, 0, tzinfo=UTC))
    _store(web, "night", dt.datetime(2026, 11, 24, 17, 0, tzinfo=UTC))
    _store(web, "morning", dt.datetime(2026, 11, 25, 1, 30, tzinfo=UTC))
    headers = web.auth("manager")
    everything = web.client.get("/api/recordings", headers=headers)
    assert everything.status_code == 200
    assert [r["call_id"] for r in everything.json()] == ["morning", "night", "early"]
    # a bare date is a local (Asia/Shanghai) day
    local_day = {"from": "2026-11-25", "to": "2026-11-26"}
    day = web.client.get("/api/recordings", params=local_day, headers=headers)
    assert [r["call_id"] for r in day.json()] == ["morning", "night"]
    window = {"from": "2026-11-24T16:00:00Z", "to": "2026-11-25T00:00:00Z"}
    utc_window = web.client.get("/api/recordings", params=window, headers=headers)
    assert [r["call_id"] for r in utc_window.json()] == ["night"]
    one = web.client.get("/api/recordings", params={"call_id": "early"}, headers=headers).json()
    assert len(one) == 1
    assert one[0]["duration"] == 1.0 and one[0]["channels"] == 2
    assert one[0]["audio_url"] == f"/api/recordings/{one[0]['id']}/audio"


def test_roles_allowed_and_refused(web: WebEnv) -> None:
    for role in ("owner", "manager", "dispatcher"):
        assert web.client.get("/api/recordings", headers=web.auth(role)).status_code == 200
    for role in ("agent", "courier"):
        response = web.client.get("/api/recordings", headers=web.auth(role))
        assert response.status_code == 403
        assert response.json()["error"] == "auth.forbidden"
    assert web.client.get("/api/recordings").status_code == 401


def test_audio_is_streamed_whole_and_by_range(web: WebEnv) -> None:
    recording_id = _store(web, "abc@host", dt.datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    path = web.settings.data_dir / "recordings/2026/11/25/abc@host.wav"
    headers = web.auth("dispatcher")
    whole = web.client.get(f"/api/recordings/{recording_id}/audio", headers=headers)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "audio/wav"
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.content == path.read_bytes()
    ranged = {**headers, "Range": "bytes=44-143"}
    part = web.client.get(f"/api/recordings/{recording_id}/audio", headers=ranged)
    assert part.status_code == 206
    assert part.content == path.read_bytes()[44:144]
    assert part.headers["content-range"] == f"bytes 44-143/{path.stat().st_size}"


def test_unknown_or_missing_files_are_404(web: WebEnv) -> None:
    headers = web.auth("owner")
    missing = web.client.get("/api/recordings/999/audio", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"] == "recording.not_found"
    assert web.client.get("/api/recordings/999", headers=headers).status_code == 404
    recording_id = _store(web, "gone", dt.datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    (web.settings.data_dir / "recordings/2026/11/25/gone.wav").unlink()
    gone = web.client.get(f"/api/recordings/{recording_id}/audio", headers=headers)
    assert gone.status_code == 404
    body = gone.json()
    assert body["error"] == "recording.file_missing" and body["message_zh"] and body["message_en"]
    entry = web.client.get(f"/api/recordings/{recording_id}", headers=headers)
    assert entry.status_code == 200 and entry.json()["call_id"] == "gone"
