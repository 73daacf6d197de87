"""Couriers (送水员)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from waterline.domain.stations import Courier


class CourierOut(BaseModel):
    """A courier with his current load."""

    id: int
    station_id: int
    name: str
    mobile: str
    capacity_per_trip: int
    on_duty: bool
    load: int
    active_orders: int
    user_id: int | None

    @classmethod
    def of(cls, courier: Courier) -> CourierOut:
        """The API view of ``courier``."""
        assert courier.id is not None
        return cls(
            id=courier.id,
            station_id=courier.station_id,
            name=courier.name,
            mobile=courier.mobile,
            capacity_per_trip=courier.capacity_per_trip,
            on_duty=courier.on_duty,
            load=courier.load,
            active_orders=courier.active_orders,
            user_id=courier.user_id,
        )


class CourierIn(BaseModel):
    """A new courier of a station."""

    station_id: int
    name: str = Field(min_length=1, max_length=60)
    mobile: str
    capacity_per_trip: int = Field(default=20, ge=1, le=500)
    on_duty: bool = True
    user_id: int | None = None


class CourierPatch(BaseModel):
    """Changes to a courier; absent fields stay as they are."""

    station_id: int | None = None
    name: str | None = Field(default=None, min_length=1, max_length=60)
    mobile: str | None = None
    capacity_per_trip: int | None = Field(default=None, ge=1, le=500)
    on_duty: bool | None = None
    user_id: int | None = None


class DutyIn(BaseModel):
    """Going on or off duty."""

    on_duty: bool
