"""Delivery stations (送水站) and their couriers (送水员)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class OpeningHours:
    """Opening hours for one weekday (0 = Monday), local Asia/Shanghai time; ``closes`` is exclusive."""

    weekday: int
    opens: time
    closes: time


@dataclass
class Station:
    """A station that stocks water and employs couriers; serves a set of districts."""

    name: str
    city: str
    district: str
    lat: float
    lon: float
    service_districts: list[str] = field(default_factory=list)
    phone: str = ""
    hours: list[OpeningHours] = field(default_factory=list)
    active: bool = True
    id: int | None = None

    def serves(self, city: str, district: str) -> bool:
        """True when the district is in this station's service area (same city)."""
        return self.city == city and district in self.service_districts

    def is_open(self, at: datetime) -> bool:
        """Whether the station is open at the aware datetime ``at``; no hours listed means always open."""
        if not self.active:
            return False
        if not self.hours:
            return True
        local = at.astimezone(SHANGHAI)
        now = local.time()
        return any(h.weekday == local.weekday() and h.opens <= now < h.closes for h in self.hours)


def daily_hours(opens: time, closes: time, weekdays: range = range(7)) -> list[OpeningHours]:
    """The same opening hours on each of ``weekdays``."""
    return [OpeningHours(weekday=d, opens=opens, closes=closes) for d in weekdays]


@dataclass
class Courier:
    """A courier of one station; ``load`` counts units on his current trip, ``active_orders`` his queue."""

    station_id: int
    name: str
    mobile: str
    capacity_per_trip: int = 20
    on_duty: bool = True
    load: int = 0
    active_orders: int = 0
    user_id: int | None = None  # login of the courier, for "my deliveries"
    id: int | None = None

    def has_room_for(self, units: int) -> bool:
        """True when ``units`` more fit on this trip."""
        return self.load + units <= self.capacity_per_trip

    def take(self, units: int) -> None:
        """Book an order's units onto the courier."""
        self.load += units
        self.active_orders += 1

    def release(self, units: int) -> None:
        """Free an order's units (delivered or cancelled); never below zero."""
        self.load = max(0, self.load - units)
        self.active_orders = max(0, self.active_orders - 1)
