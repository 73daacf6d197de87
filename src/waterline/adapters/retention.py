"""Recording retention: delete call recordings (WAV files and index rows) older than the retention
period (``settings.recordings.retention_days``, default 180, at least 90).

:func:`purge_recordings` does one pass in small batches, each its own short transaction, so the
engine indexing new recordings is never blocked for long. A file is deleted before its row: a crash
in between leaves a row whose file is missing (the next pass removes it), never an unindexed file.
:func:`retention_job` runs a pass at start and then every ``retention_interval_seconds`` (daily) as a
background task of the web app.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from waterline.adapters.db.recordings import recordings_table
from waterline.config import MIN_RETENTION_DAYS, Settings

__all__ = ["PurgeReport", "purge_recordings", "retention_job"]

_log = logging.getLogger(__name__)

BATCH = 200


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What one pass did: rows removed, files deleted, files already gone, files that could not go."""

    rows: int = 0
    files: int = 0
    missing: int = 0
    failed: int = 0


def purge_recordings(
    session_factory: Callable[[], Session], data_dir: Path, *, now: datetime, days: int, batch: int = BATCH
) -> PurgeReport:
    """Delete recordings that started more than ``days`` before ``now`` (files, then rows).

    Only files under ``data_dir/recordings`` are touched; a row pointing elsewhere is dropped from the
    index but its file is left alone. A file that cannot be deleted (permissions) keeps its row, so a
    later pass retries it. ``days`` below the legal minimum is refused (``ValueError``).
    """
    if days < MIN_RETENTION_DAYS:
        raise ValueError(f"retention of {days} days is below the minimum of {MIN_RETENTION_DAYS}")
    cutoff = now - timedelta(days=days)
    root = (data_dir / "recordings").resolve()
    rows = files = missing = failed = 0
    last_id = 0
    while True:
        with session_factory() as session:
            found = session.execute(
                select(recordings_table.c.id, recordings_table.c.path)
                .where(recordings_table.c.started_at < cutoff, recordings_table.c.id > last_id)
                .order_by(recordings_table.c.id)
                .limit(batch)
            ).all()
            if not found:
                break
            last_id = found[-1].id
            gone: list[int] = []
            for key, relative in found:
                path = data_dir.joinpath(*PurePosixPath(relative).parts).resolve()
                if path.is_relative_to(root):
                    try:
                        path.unlink()
                        files += 1
                    except FileNotFoundError:
                        missing += 1
                    except OSError:
                        _log.warning("retention: cannot delete %s", path, exc_info=True)
                        failed += 1
                        continue
                gone.append(key)
            if gone:
                session.execute(delete(recordings_table).where(recordings_table.c.id.in_(gone)))
                session.commit()
                rows += len(gone)
    return PurgeReport(rows=rows, files=files, missing=missing, failed=failed)


def retention_job(
    session_factory: Callable[[], Session], settings: Settings, clock: Callable[[], datetime]
) -> Callable[[], Coroutine[Any, Any, None]]:
    """A background job (for ``AppServices.background``): a purge pass now and then every interval."""
    days = settings.recordings.retention_days
    interval = settings.recordings.retention_interval_seconds

    def one_pass() -> PurgeReport:
        return purge_recordings(session_factory, settings.data_dir, now=clock(), days=days)

    async def job() -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                report = await loop.run_in_executor(None, one_pass)
            except Exception:
                _log.exception("recording retention pass failed")
            else:
                if report.rows or report.failed:
                    _log.info("retention (%s days): %s recordings removed, %s files deleted, %s missing, "
                              "%s failed", days, report.rows, report.files, report.missing, report.failed)
            await asyncio.sleep(interval)

    return job
