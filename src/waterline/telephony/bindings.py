"""Registrations kept in a JSON file in the data dir, so a restart of the engine keeps agents reachable.

Implements the registrar's ``RegistrationStore`` port. The registrar counts expiry on the engine's
monotonic clock; the file holds wall-clock times instead, so bindings survive a reboot (where the
monotonic clock starts again from zero) with their true remaining lifetime.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

from waterline.sip.registrar import Binding

_log = logging.getLogger(__name__)


class FileRegistrationStore:
    """Bindings by address of record, rewritten atomically (temp file + rename) on every change."""

    def __init__(self, path: Path, monotonic: Callable[[], float], wall: Callable[[], float]) -> None:
        self._path = path
        self._monotonic = monotonic
        self._wall = wall
        self._table: dict[str, list[Binding]] = {}

    def load_all(self) -> dict[str, list[Binding]]:
        """Every stored binding still alive, with its expiry moved onto the monotonic clock."""
        try:
            raw = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            _log.exception("ignoring unreadable registrations file %s", self._path)
            return {}
        offset = self._monotonic() - self._wall()
        table: dict[str, list[Binding]] = {}
        for aor, entries in raw.items() if isinstance(raw, dict) else ():
            try:
                bindings = [
                    Binding(
                        contact=str(e["contact"]), expires_at=float(e["expires_at"]) + offset,
                        call_id=str(e["call_id"]), cseq=int(e["cseq"]), q=float(e.get("q", 1.0)),
                    )
                    for e in entries
                ]
            except (KeyError, TypeError, ValueError):
                _log.warning("ignoring malformed stored registration of %s", aor)
                continue
            live = [b for b in bindings if b.expires_at > self._monotonic()]
            if live:
                table[str(aor)] = live
        self._table = {aor: list(bindings) for aor, bindings in table.items()}
        return table

    def save(self, aor: str, bindings: list[Binding]) -> None:
        """Replace the bindings of ``aor`` (an empty list deletes it) and rewrite the file."""
        if bindings:
            self._table[aor] = list(bindings)
        else:
            self._table.pop(aor, None)
        offset = self._wall() - self._monotonic()
        data = {
            aor: [
                {"contact": b.contact, "expires_at": round(b.expires_at + offset, 3), "call_id": b.call_id,
                 "cseq": b.cseq, "q": b.q}
                for b in bindings
            ]
            for aor, bindings in self._table.items()
        }
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self._path)
