"""Holiday override schemas."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from waterline.domain.overrides import HolidayOverride
from waterline.web.schemas.holiday import HolidayOverrideIn, HolidayOverrideOut


def test_round_trip_and_limits() -> None:
    override = HolidayOverride(date(2027, 2, 20), True, "调休", datetime(2026, 11, 25, tzinfo=UTC))
    out = HolidayOverrideOut.of(override)
    assert (out.day, out.is_workday, out.note) == (date(2027, 2, 20), True, "调休")
    assert HolidayOverrideIn.model_validate({"day": "2027-02-15", "is_workday": False}).note == ""
    with pytest.raises(ValidationError):
        HolidayOverrideIn.model_validate({"day": "2027-02-30", "is_workday": False})
