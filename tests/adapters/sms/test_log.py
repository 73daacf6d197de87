from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from waterline.adapters.sms.log import LogSmsSender

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def test_appends_json_lines_under_the_data_dir(tmp_path: Path) -> None:
    ids = iter(["a1", "b2"])
    sender = LogSmsSender(tmp_path / "var", clock=lambda: NOW, new_id=lambda: next(ids))
    first = sender.send("13912345678", "【水线送水】您的订单SX20261125-0001已派送。")
    second = sender.send("13800000001", "第二条")
    assert (first, second) == ("log-a1", "log-b2")
    path = tmp_path / "var" / "logs" / "sms.log"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    record = json.loads(lines[0])
    assert record == {
        "id": "log-a1",
        "at": "2026-11-25T02:00:00+00:00",
        "to": "13912345678",
        "text": "【水线送水】您的订单SX20261125-0001已派送。",
        "chars": 29,
        "segments": 1,
    }
    assert "水线" in lines[0]  # Chinese kept readable, not \u-escaped
    assert [e["to"] for e in sender.entries()] == ["13912345678", "13800000001"]


def test_counts_70_then_67_character_segments(tmp_path: Path) -> None:
    sender = LogSmsSender(tmp_path)
    sender.send("13912345678", "水" * 70)
    sender.send("13912345678", "水" * 71)
    sender.send("13912345678", "水" * 135)
    assert [e["segments"] for e in sender.entries()] == [1, 2, 3]


def test_default_ids_are_unique_and_file_survives_new_sender(tmp_path: Path) -> None:
    sender = LogSmsSender(tmp_path)
    ids = {sender.send("13912345678", f"第{n}条") for n in range(5)}
    assert len(ids) == 5 and all(i.startswith("log-") for i in ids)
    again = LogSmsSender(tmp_path)
    again.send("13912345678", "再来")
    entries = again.entries()
    assert len(entries) == 6
    assert datetime.fromisoformat(str(entries[-1]["at"])).tzinfo is not None
    assert datetime.fromisoformat(str(entries[-1]["at"])) <= datetime.now(UTC)


def test_no_log_yet_means_no_entries(tmp_path: Path) -> None:
    assert LogSmsSender(tmp_path).entries() == []
