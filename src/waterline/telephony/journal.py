"""Structured JSON-lines log of telephony events (calls, registrations) for later issues to consume.

One JSON object per line, to ``<data_dir>/logs/telephony.jsonl`` and optionally to a second stream
(stderr). Lines are buffered and written by :meth:`Journal.flush`, which the engine calls a few times
a second: at thousands of calls per second a write per event (stderr is line-buffered) would cost
more than the SIP work of the call itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

JournalValue = str | int | float | bool | None

MAX_PENDING = 100_000
"""Lines kept between flushes at most; beyond that the oldest are flushed early."""


class Journal:
    """Appends events as JSON lines to a file and, if given, a mirror stream."""

    def __init__(self, path: Path | None, mirror: IO[str] | None = None) -> None:
        self._file: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")
        self._mirror = mirror
        # One encoder for the journal's life: json.dumps with options builds a new one per call.
        self._encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        self._pending: list[str] = []
        self.written = 0

    def write(self, event: str, ts: float, **fields: JournalValue) -> None:
        """Record ``event`` at wall-clock time ``ts`` (seconds since the epoch) with its fields."""
        record: dict[str, JournalValue] = {"ts": round(ts, 3), "event": event}
        record.update(fields)
        self._pending.append(self._encode(record))
        self.written += 1
        if len(self._pending) >= MAX_PENDING:
            self.flush()

    def flush(self) -> None:
        """Write the buffered lines out to the file and the mirror."""
        if not self._pending:
            return
        text = "\n".join(self._pending) + "\n"
        self._pending = []
        if self._file is not None:
            self._file.write(text)
            self._file.flush()
        if self._mirror is not None:
            self._mirror.write(text)
            self._mirror.flush()

    def close(self) -> None:
        """Flush and close the file (the mirror stream is not ours to close)."""
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None
