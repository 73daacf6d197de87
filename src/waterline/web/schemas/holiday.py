"""Holiday overrides (manual workday / day-off corrections) as the API shows and takes them."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from waterline.domain.overrides import HolidayOverride


class HolidayOverrideIn(BaseModel):
    """``day`` is a workday (调休上班) when ``is_workday``, else a day off."""

    day: date
    is_workday: bool
    note: str = Field(default="", max_length=255)


class HolidayOverrideOut(HolidayOverrideIn):
    """A stored override."""

    updated_at: datetime

    @classmethod
    def of(cls, override: HolidayOverride) -> HolidayOverrideOut:
        """The API view of ``override``."""
        return cls(day=override.day, is_workday=override.is_workday, note=override.note,
                   updated_at=override.updated_at)
