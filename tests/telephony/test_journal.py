"""The JSON-lines journal of telephony events."""

from __future__ import annotations

import io
import json
from pathlib import Path

from waterline.telephony.journal import Journal


def test_events_are_json_lines_in_file_and_mirror(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "telephony.jsonl"
    mirror = io.StringIO()
    journal = Journal(path, mirror)
    journal.write("call_answered", 1700000000.12345, call="abc", number="*43", caller="sip:张三@example.cn")
    journal.write("call_ended", 1700000001.0, call="abc", duration=0.5, status=None)
    journal.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {"ts": 1700000000.123, "event": "call_answered", "call": "abc", "number": "*43",
         "caller": "sip:张三@example.cn"},
        {"ts": 1700000001.0, "event": "call_ended", "call": "abc", "duration": 0.5, "status": None},
    ]
    assert mirror.getvalue().splitlines() == lines
    assert journal.written == 2


def test_journal_appends_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "telephony.jsonl"
    for n in range(2):
        journal = Journal(path)
        journal.write("engine_started", float(n))
        journal.close()
    assert [json.loads(line)["ts"] for line in path.read_text(encoding="utf-8").splitlines()] == [0.0, 1.0]


def test_nothing_reaches_the_file_before_flush(tmp_path: Path) -> None:
    path = tmp_path / "telephony.jsonl"
    mirror = io.StringIO()
    journal = Journal(path, mirror)
    journal.write("call_answered", 1.0, call="a")
    assert path.read_text(encoding="utf-8") == "" and mirror.getvalue() == ""
    journal.flush()
    assert json.loads(path.read_text(encoding="utf-8"))["call"] == "a"
    assert json.loads(mirror.getvalue())["call"] == "a"
    journal.close()
