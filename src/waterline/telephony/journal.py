"""Structured JSON-lines log of telephony events (calls, registrations) for later issues to consume.

One JSON object per line, to ``<data_dir>/logs/telephony.jsonl`` and optionally to a second stream
(stderr). Writes are buffered and flushed by the engine a few times a second rather than per line:
at thousands of calls per second a flush per event would cost more than the call itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

JournalValue = str | int | float | bool | None


class Journal:
    """Appends events as JSON lines to a file and, if given, a mirror stream."""

    def __init__(self, path: Path | None, mirror: IO[str] | None = None) -> None:
        self._file: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8", buffering=64 * 1024)
        self._mirror = mirror
        self.written = 0

    def write(self, event: str, ts: float, **fields: JournalValue) -> None:
        """Record ``event`` at wall-clock time ``ts`` (seconds since the epoch) with its fields."""
        record: dict[str, JournalValue] = {"ts": round(ts, 3), "event": event}
        record.update(fields)
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        if self._file is not None:
            self._file.write(line)
        if self._mirror is not None:
            self._mirror.write(line)
        self.written += 1

    def flush(self) -> None:
        """Push buffered lines to the OS."""
        if self._file is not None:
            self._file.flush()
        if self._mirror is not None:
            self._mirror.flush()

    def close(self) -> None:
        """Flush and close the file (the mirror stream is not ours to close)."""
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None
