"""The recordings index on SQLite and PostgreSQL: add, idempotent re-index, search, migration down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.orm import Session, sessionmaker

from waterline.adapters.db.engine import create_engine
from waterline.adapters.db.migrations import downgrade
from waterline.adapters.db.recordings import (
    RecordingRepository,
    relative_path,
    store_recording,
    store_recordings,
)
from waterline.telephony.recording import RecordingIndex

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
BEIJING = timezone(timedelta(hours=8))
DATA = Path("/srv/waterline")


def _index(call_id: str, started_at: datetime, duration: float = 12.5) -> RecordingIndex:
    path = DATA / "recordings" / started_at.strftime("%Y/%m/%d") / f"{call_id}.wav"
    return RecordingIndex(call_id, path, started_at, duration, 44 + int(duration * 32000))


def test_relative_path_refuses_files_outside_the_data_dir() -> None:
    assert relative_path(DATA / "recordings" / "a.wav", DATA) == "recordings/a.wav"
    with pytest.raises(ValueError):
        relative_path(Path("/etc/passwd"), DATA)


def test_store_and_read_back(session_factory: sessionmaker[Session]) -> None:
    started = datetime(2026, 11, 25, 9, 30, tzinfo=BEIJING)
    stored = store_recording(session_factory, _index("abc@host", started), data_dir=DATA, now=NOW)
    with session_factory() as session:
        found = RecordingRepository(session).get(stored.id)
    assert found == stored
    assert found.call_id == "abc@host" and found.channels == 2 and found.duration == 12.5
    assert found.path == "recordings/2026/11/25/abc@host.wav"
    assert found.file(DATA) == DATA / "recordings/2026/11/25/abc@host.wav"
    assert found.started_at == started  # same instant, returned in UTC
    assert found.started_at.utcoffset() == timedelta(0)
    assert found.created_at == NOW


def test_indexing_the_same_file_again_updates_the_row(session_factory: sessionmaker[Session]) -> None:
    started = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    first = store_recording(session_factory, _index("c1", started, 3.0), data_dir=DATA, now=NOW)
    later = NOW + timedelta(days=1)
    again = store_recording(session_factory, _index("c1", started, 4.0), data_dir=DATA, now=later)
    assert again.id == first.id and again.duration == 4.0
    with session_factory() as session:
        assert len(RecordingRepository(session).search()) == 1


def test_search_by_time_window_and_call_id_newest_first(session_factory: sessionmaker[Session]) -> None:
    base = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    for day in range(4):
        index = _index(f"call-{day}", base + timedelta(days=day))
        store_recording(session_factory, index, data_dir=DATA, now=NOW)
    with session_factory() as session:
        repo = RecordingRepository(session)
        assert [r.call_id for r in repo.search()] == ["call-3", "call-2", "call-1", "call-0"]
        window = repo.search(started_from=base + timedelta(days=1), started_to=base + timedelta(days=3))
        assert [r.call_id for r in window] == ["call-2", "call-1"]  # the upper bound is exclusive
        assert [r.call_id for r in repo.search(call_id="call-0")] == ["call-0"]
        assert repo.search(call_id="nope") == []
        assert [r.call_id for r in repo.search(limit=2, offset=1)] == ["call-2", "call-1"]
        assert repo.get(10_000) is None


def test_downgrade_to_0002_drops_only_the_recordings(migrated_db_url: str) -> None:
    downgrade(migrated_db_url, "0002")
    engine = create_engine(migrated_db_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert "recordings" not in tables
    assert {"users", "orders"} <= tables


def test_relative_path_takes_a_path_under_the_data_dir_as_spelled() -> None:
    # the engine's own recordings: no look-up on disk (the data dir need not exist for this)
    assert relative_path(DATA / "recordings" / "2026" / "b.wav", DATA) == "recordings/2026/b.wav"
    with pytest.raises(ValueError):
        relative_path(DATA / ".." / "etc" / "passwd", DATA)


def test_store_many_in_one_batch(session_factory: sessionmaker[Session]) -> None:
    started = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    kept = store_recording(session_factory, _index("old", started, 3.0), data_dir=DATA, now=NOW)
    later = NOW + timedelta(hours=1)
    batch = [_index(f"b{n}", started + timedelta(minutes=n), 5.0 + n) for n in range(3)]
    # "old" indexed again (its row is updated, not duplicated), and "b1" twice: the last one wins
    batch += [_index("old", started, 7.5), _index("b1", started + timedelta(minutes=1), 9.0)]
    assert store_recordings(session_factory, batch, data_dir=DATA, now=later) == 4
    with session_factory() as session:
        found = {r.call_id: r for r in RecordingRepository(session).search()}
    assert sorted(found) == ["b0", "b1", "b2", "old"]
    assert found["old"].id == kept.id and found["old"].duration == 7.5 and found["old"].created_at == NOW
    assert found["b1"].duration == 9.0 and found["b2"].duration == 7.0
    assert found["b0"].created_at == later
    assert found["b2"].path == "recordings/2026/11/25/b2.wav"
    assert store_recordings(session_factory, [], data_dir=DATA, now=later) == 0


def test_store_many_refuses_the_whole_batch_when_one_path_is_outside(
        session_factory: sessionmaker[Session]) -> None:
    started = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    outside = RecordingIndex("x", Path("/etc/x.wav"), started, 1.0, 44)
    with pytest.raises(ValueError):
        store_recordings(session_factory, [_index("in", started), outside], data_dir=DATA, now=NOW)
    with session_factory() as session:
        assert RecordingRepository(session).search() == []
