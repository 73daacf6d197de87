"""Delivery stations (送水站)."""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, Field

from waterline.domain.stations import OpeningHours, Station


class HoursModel(BaseModel):
    """Opening hours of one weekday (0 = Monday), local time; ``closes`` is exclusive. Weekday 7 holds
    the hours on public holidays (``domain.hours``; without them a holiday follows Sunday)."""

    weekday: int = Field(
        ge=0, le=7, description="0=周一 … 6=周日, 7=法定节假日 / 0=Monday … 6=Sunday, 7=holidays"
    )
    opens: time
    closes: time

    def to_domain(self) -> OpeningHours:
        """The domain value."""
        return OpeningHours(weekday=self.weekday, opens=self.opens, closes=self.closes)


class StationOut(BaseModel):
    """A station as the API shows it."""

    id: int
    name: str
    city: str
    district: str
    lat: float
    lon: float
    service_districts: list[str]
    phone: str
    hours: list[HoursModel]
    active: bool

    @classmethod
    def of(cls, station: Station) -> StationOut:
        """The API view of ``station``."""
        assert station.id is not None
        return cls(
            id=station.id,
            name=station.name,
            city=station.city,
            district=station.district,
            lat=station.lat,
            lon=station.lon,
            service_districts=list(station.service_districts),
            phone=station.phone,
            hours=[HoursModel(weekday=h.weekday, opens=h.opens, closes=h.closes) for h in station.hours],
            active=station.active,
        )


class StationIn(BaseModel):
    """A new station; the district and every service district must be known districts of the city."""

    name: str = Field(min_length=1, max_length=100)
    city: str = Field(min_length=1)
    district: str = Field(min_length=1)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    service_districts: list[str] = Field(default_factory=list)
    phone: str = ""
    hours: list[HoursModel] = Field(default_factory=list)
    active: bool = True


class StationPatch(BaseModel):
    """Changes to a station; absent fields stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    service_districts: list[str] | None = None
    phone: str | None = None
    hours: list[HoursModel] | None = None
    active: bool | None = None
