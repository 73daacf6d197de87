"""Registrations persisted in the data dir survive a restart, with their remaining lifetime."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from waterline.sip.registrar import Binding
from waterline.telephony.bindings import FileRegistrationStore


@dataclass
class Clocks:
    """A monotonic and a wall clock that can be moved independently (a reboot resets monotonic)."""

    mono: float
    wall: float

    def monotonic(self) -> float:
        return self.mono

    def wallclock(self) -> float:
        return self.wall


def _store(path: Path, clocks: Clocks) -> FileRegistrationStore:
    return FileRegistrationStore(path, clocks.monotonic, clocks.wallclock)


def test_bindings_survive_a_restart_with_their_remaining_lifetime(tmp_path: Path) -> None:
    path = tmp_path / "registrations.json"
    clocks = Clocks(mono=500.0, wall=1_700_000_000.0)
    store = _store(path, clocks)
    assert store.load_all() == {}
    store.save("sip:1001@waterline", [Binding("sip:1001@10.0.0.9:5062", 500.0 + 600, "cid", 2)])
    store.save("sip:1002@waterline", [Binding("sip:1002@10.0.0.8:5060", 500.0 + 60, "cid2", 7, q=0.5)])
    # Reboot: the monotonic clock starts again near zero, 30 s of wall time later.
    later = Clocks(mono=10.0, wall=1_700_000_030.0)
    table = _store(path, later).load_all()
    assert set(table) == {"sip:1001@waterline", "sip:1002@waterline"}
    [alice] = table["sip:1001@waterline"]
    assert alice.contact == "sip:1001@10.0.0.9:5062" and alice.cseq == 2
    assert alice.remaining(later.mono) == 570
    assert table["sip:1002@waterline"][0].q == 0.5


def test_expired_and_deleted_bindings_are_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "registrations.json"
    clocks = Clocks(mono=100.0, wall=2_000.0)
    store = _store(path, clocks)
    store.save("sip:a@w", [Binding("sip:a@1.2.3.4", 110.0, "c", 1)])
    store.save("sip:b@w", [Binding("sip:b@1.2.3.4", 1000.0, "c", 1)])
    store.save("sip:b@w", [])
    assert json.loads(path.read_text(encoding="utf-8")).keys() == {"sip:a@w"}
    assert _store(path, Clocks(mono=200.0, wall=2_100.0)).load_all() == {}


def test_unreadable_file_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "registrations.json"
    path.write_text("{not json", encoding="utf-8")
    assert _store(path, Clocks(0.0, 0.0)).load_all() == {}
    path.write_text('{"sip:a@w": [{"contact": "x"}]}', encoding="utf-8")
    assert _store(path, Clocks(0.0, 0.0)).load_all() == {}
