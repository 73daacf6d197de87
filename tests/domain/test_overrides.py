from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest

from waterline.domain.overrides import HolidayOverride


def test_override_is_a_frozen_value() -> None:
    override = HolidayOverride(date(2027, 2, 20), True, "调休", datetime(2026, 11, 25, tzinfo=UTC))
    assert override == HolidayOverride(date(2027, 2, 20), True, "调休", datetime(2026, 11, 25, tzinfo=UTC))
    with pytest.raises(dataclasses.FrozenInstanceError):
        override.is_workday = False  # type: ignore[misc]
