"""The ``log`` SMS sender: instead of a gateway, append each message to ``<data_dir>/logs/sms.log``.

One JSON object per line (UTF-8, Chinese kept readable), so the file can be tailed or grepped during a
demo. The delivery state lives in the outbox table; this file is only the "gateway's" side.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from waterline.domain.outbox import sms_segments
from waterline.services.ports import SmsSender

LOG_NAME = "sms.log"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return uuid.uuid4().hex


class LogSmsSender:
    """Implements ``services.ports.SmsSender`` by writing to a JSON-lines file; never fails on its own."""

    def __init__(
        self,
        data_dir: Path,
        *,
        clock: Callable[[], datetime] = _utc_now,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self.path = Path(data_dir) / "logs" / LOG_NAME
        self._clock = clock
        self._new_id = new_id

    def send(self, to: str, text: str) -> str:
        """Append the message as one JSON line and return its provider id (``log-<hex>``)."""
        provider_id = f"log-{self._new_id()}"
        record = {
            "id": provider_id,
            "at": self._clock().astimezone(UTC).isoformat(),
            "to": to,
            "text": text,
            "chars": len(text),
            "segments": sms_segments(text),
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One write of a whole line in append mode: concurrent writers (web and worker processes)
        # do not interleave inside a line.
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
        return provider_id

    def entries(self) -> list[dict[str, object]]:
        """Every message logged so far, oldest first (for the CLI and tests)."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]


def _conforms(sender: LogSmsSender) -> SmsSender:
    # mypy checks here that the adapter implements the port
    return sender
