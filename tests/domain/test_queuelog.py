"""The stored queue log record."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from waterline.domain.queuelog import QueueLogRecord


def test_record_is_frozen_with_independent_details() -> None:
    at = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    first = QueueLogRecord(at, "orders-yanta", "c1", "enter", position=1)
    second = QueueLogRecord(at, "orders-yanta", "c2", "enter")
    assert first.detail == {} and first.detail is not second.detail
    assert (first.agent, first.wait, first.reason, first.id) == ("", None, "", None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.event = "abandon"  # type: ignore[misc]
