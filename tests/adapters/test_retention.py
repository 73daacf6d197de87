"""Recording retention: files and index rows older than N days go, newer ones stay; SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from waterline.adapters.db.recordings import RecordingRepository
from waterline.adapters.retention import purge_recordings, retention_job
from waterline.config import RecordingSettings, Settings
from waterline.telephony.recording import RecordingIndex

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


def _index(session_factory: sessionmaker[Session], data_dir: Path, name: str, age_days: float) -> Path:
    started = NOW - timedelta(days=age_days)
    path = data_dir / "recordings" / started.strftime("%Y/%m/%d") / f"{name}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF....WAVE")
    with session_factory() as session:
        index = RecordingIndex(name, path, started, 1.0, 12)
        RecordingRepository(session).add(index, data_dir=data_dir, now=NOW)
        session.commit()
    return path


def _left(session_factory: sessionmaker[Session]) -> list[str]:
    with session_factory() as session:
        return sorted(r.call_id for r in RecordingRepository(session).search(limit=100))


def test_old_recordings_go_new_ones_stay(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    old = [_index(session_factory, tmp_path, f"old{n}", 181 + n) for n in range(5)]
    edge = _index(session_factory, tmp_path, "edge", 179.9)
    fresh = _index(session_factory, tmp_path, "fresh", 1)
    old[0].unlink()  # a file already gone: its row still goes
    report = purge_recordings(session_factory, tmp_path, now=NOW, days=180, batch=2)
    assert (report.rows, report.files, report.missing, report.failed) == (5, 4, 1, 0)
    assert not any(p.exists() for p in old)
    assert edge.exists() and fresh.exists()
    assert _left(session_factory) == ["edge", "fresh"]
    again = purge_recordings(session_factory, tmp_path, now=NOW, days=180)
    assert again.rows == 0


def test_longer_retention_keeps_more(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    _index(session_factory, tmp_path, "half-year", 200)
    assert purge_recordings(session_factory, tmp_path, now=NOW, days=365).rows == 0
    assert _left(session_factory) == ["half-year"]


def test_below_the_minimum_is_refused(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="minimum"):
        purge_recordings(session_factory, tmp_path, now=NOW, days=30)


def test_the_job_runs_a_pass_at_start(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    _index(session_factory, tmp_path, "ancient", 400)
    settings = Settings(data_dir=tmp_path, secret_key=SecretStr("x" * 32),
                        recordings=RecordingSettings(retention_days=90, retention_interval_seconds=3600))
    job = retention_job(session_factory, settings, lambda: NOW)

    async def run_briefly() -> None:
        task = asyncio.create_task(job())
        for _ in range(200):  # bounded: at most ~2 s
            await asyncio.sleep(0.01)
            if not _left(session_factory):
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run_briefly())
    assert _left(session_factory) == []


def test_retention_setting_defaults_to_180_days_and_refuses_below_90(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().recordings.retention_days == 180
    monkeypatch.setenv("WATERLINE_RECORDINGS__RETENTION_DAYS", "365")
    assert Settings().recordings.retention_days == 365
    monkeypatch.setenv("WATERLINE_RECORDINGS__RETENTION_DAYS", "89")
    with pytest.raises(ValidationError):
        Settings()
