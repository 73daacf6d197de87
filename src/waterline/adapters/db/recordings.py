"""The ``recordings`` table: one row per finished call recording (stereo WAV under the data dir).

The telephony engine writes the WAV (``telephony.recording``) and then indexes it here with
:func:`store_recording`; the web app lists and serves recordings through :class:`RecordingRepository`.
Paths are stored relative to the data directory (POSIX separators), so a data directory that is
moved or restored elsewhere keeps its recordings reachable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from sqlalchemy import (
    CheckConstraint,
    Column,
    Double,
    Index,
    Integer,
    String,
    Table,
    select,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from waterline.adapters.db.metadata import metadata
from waterline.adapters.db.orm import UtcDateTime
from waterline.telephony.recording import RecordingIndex

__all__ = [
    "Recording",
    "RecordingRepository",
    "recordings_table",
    "relative_path",
    "store_recording",
    "store_recordings",
]

recordings_table = Table(
    "recordings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_id", String(255), nullable=False, index=True),
    Column("path", String(1024), nullable=False, unique=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("duration", Double, nullable=False),
    Column("size", Integer, nullable=False),
    Column("channels", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("duration >= 0 AND size >= 0 AND channels >= 1", name="sane"),
    # the console lists a day's recordings newest first
    Index("ix_recordings_started_at_id", "started_at", "id"),
)


@dataclass(frozen=True, slots=True)
class Recording:
    """One indexed recording; ``path`` is relative to the data directory."""

    id: int
    call_id: str
    path: str
    started_at: datetime
    duration: float
    size: int
    channels: int
    created_at: datetime

    def file(self, data_dir: Path) -> Path:
        """The WAV file on disk for this data directory."""
        return data_dir.joinpath(*PurePosixPath(self.path).parts)


def relative_path(path: Path, data_dir: Path) -> str:
    """``path`` relative to ``data_dir`` with POSIX separators; ``ValueError`` when it lies outside.

    A path spelled under ``data_dir`` (the engine's own recordings) is taken as it is: resolving both
    looks up every component on disk (~40 us a recording). Anything else, or a path climbing out with
    "..", is compared resolved.
    """
    try:
        relative = path.relative_to(data_dir)
    except ValueError:
        relative = None
    if relative is None or ".." in relative.parts:
        relative = path.resolve().relative_to(data_dir.resolve())
    return relative.as_posix()


def _recording(row: RowMapping) -> Recording:
    return Recording(
        id=row["id"], call_id=row["call_id"], path=row["path"], started_at=row["started_at"],
        duration=float(row["duration"]), size=row["size"], channels=row["channels"],
        created_at=row["created_at"],
    )


class RecordingRepository:
    """Recordings stored in one SQLAlchemy session; the caller commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, index: RecordingIndex, *, data_dir: Path, now: datetime, channels: int = 2) -> Recording:
        """Index a finished recording; indexing the same file again updates its row (idempotent).

        ``index.path`` must lie under ``data_dir`` (``ValueError`` otherwise).
        """
        path = relative_path(index.path, data_dir)
        values = {
            "call_id": index.call_id, "path": path, "started_at": index.started_at,
            "duration": index.duration, "size": index.size, "channels": channels,
        }
        existing = self.session.execute(
            select(recordings_table.c.id).where(recordings_table.c.path == path)
        ).scalar_one_or_none()
        if existing is None:
            key = self.session.execute(
                recordings_table.insert().values(**values, created_at=now).returning(recordings_table.c.id)
            ).scalar_one()
        else:
            self.session.execute(
                update(recordings_table).where(recordings_table.c.id == existing).values(**values)
            )
            key = existing
        found = self.get(int(key))
        assert found is not None
        return found

    def get(self, recording_id: int) -> Recording | None:
        """The recording with this id, or None."""
        row = self.session.execute(
            select(recordings_table).where(recordings_table.c.id == recording_id)
        ).mappings().one_or_none()
        return None if row is None else _recording(row)

    def search(self, *, started_from: datetime | None = None, started_to: datetime | None = None,
               call_id: str | None = None, limit: int = 50, offset: int = 0) -> list[Recording]:
        """Recordings started in ``[started_from, started_to)`` and/or of one call, newest first."""
        query = select(recordings_table)
        if started_from is not None:
            query = query.where(recordings_table.c.started_at >= started_from)
        if started_to is not None:
            query = query.where(recordings_table.c.started_at < started_to)
        if call_id is not None:
            query = query.where(recordings_table.c.call_id == call_id)
        query = query.order_by(recordings_table.c.started_at.desc(), recordings_table.c.id.desc())
        rows = self.session.execute(query.limit(limit).offset(offset)).mappings().all()
        return [_recording(row) for row in rows]


def store_recording(session_factory: Callable[[], Session], index: RecordingIndex, *, data_dir: Path,
                    now: datetime, channels: int = 2) -> Recording:
    """Index one finished recording in its own short transaction (what the telephony engine calls).

    Blocking database work: run it off the media loop (``loop.run_in_executor``). ``now`` is the
    indexing time (aware); ``channels`` 2 for the stereo call WAVs of ``CallRecorder``.
    """
    with session_factory() as session:
        recording = RecordingRepository(session).add(index, data_dir=data_dir, now=now, channels=channels)
        session.commit()
        return recording


def store_recordings(session_factory: Callable[[], Session], indexes: Sequence[RecordingIndex], *,
                     data_dir: Path, now: datetime, channels: int = 2) -> int:
    """Index many finished recordings in one transaction; returns how many rows were written.

    What the telephony engine calls for its benchmark and diagnostic recordings, a batch every
    fraction of a second: a transaction per recording cost ~2 ms of CPU (most of it SQLAlchemy, holding
    the interpreter the media loop needs), hundreds of times a second. Same rules as
    :func:`store_recording`: a file indexed again updates its row (the last index of a path in the batch
    wins), and every path must lie under ``data_dir`` (``ValueError`` before anything is written).
    """
    rows: dict[str, dict[str, object]] = {}
    for index in indexes:
        path = relative_path(index.path, data_dir)
        rows[path] = {
            "call_id": index.call_id, "path": path, "started_at": index.started_at,
            "duration": index.duration, "size": index.size, "channels": channels,
        }
    if not rows:
        return 0
    table = recordings_table
    with session_factory() as session:
        found = session.execute(select(table.c.path, table.c.id).where(table.c.path.in_(list(rows))))
        existing: dict[str, int] = {path: key for path, key in found}
        new = [{**values, "created_at": now} for path, values in rows.items() if path not in existing]
        if new:
            session.execute(table.insert(), new)
        for path, key in existing.items():
            session.execute(update(table).where(table.c.id == key).values(**rows[path]))
        session.commit()
    return len(rows)
