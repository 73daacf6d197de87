"""Dispatch policy (pure): which station, which courier, and when the water should arrive.

Station: the address's override -> an open station whose service area holds the district (nearest
first) -> the nearest open station by great-circle distance -> if none is open, the nearest one.
Courier: on duty at that station, with room for the order, least loaded (then shortest queue, then id).
ETA: road distance / speed + the courier's queue + handling (stairs without a lift take longer).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from waterline.domain.catalogue import Message, message
from waterline.domain.customers import Address
from waterline.domain.errors import NoStationAvailable
from waterline.domain.regions import great_circle_km
from waterline.domain.stations import Courier, Station


@dataclass(frozen=True)
class DispatchParams:
    """Tunable figures of the ETA estimate."""

    speed_kmh: float = 18.0  # electric tricycle in city traffic
    detour_factor: float = 1.3  # streets are not great circles
    minutes_per_queued_order: float = 12.0
    handling_minutes: float = 5.0
    stairs_minutes_per_floor_unit: float = 0.5  # per floor above the first, per piece, without a lift


@dataclass(frozen=True)
class StationChoice:
    """The chosen station, its distance from the address, and why."""

    station: Station
    distance_km: float
    reasons: tuple[Message, ...]


@dataclass(frozen=True)
class DispatchDecision:
    """Outcome of dispatch; ``courier_id`` is None when nobody has room (the order waits, station known)."""

    station_id: int
    courier_id: int | None
    distance_km: float
    eta_minutes: int | None
    eta: datetime | None
    reasons: tuple[Message, ...]


def _km(station: Station, lat: float, lon: float) -> float:
    return great_circle_km(station.lat, station.lon, lat, lon)


def choose_station(
    address: Address,
    stations: Sequence[Station],
    at: datetime,
    is_open: Callable[[Station], bool] | None = None,
) -> StationChoice:
    """Pick the station for ``address`` at time ``at``; ``NoStationAvailable`` when there is none.

    ``is_open`` decides whether a station is open at ``at``; by default its weekly hours
    (``Station.is_open``), a holiday-aware test (``domain.hours.is_open``) may be passed instead.
    """
    open_now = is_open or (lambda station: station.is_open(at))
    lat, lon = address.coordinates()
    active = [s for s in stations if s.active and s.id is not None]
    reasons: list[Message] = []
    if address.station_override_id is not None:
        for station in active:
            if station.id == address.station_override_id:
                reasons.append(message("dispatch.override", station=station.name))
                return StationChoice(station, _km(station, lat, lon), tuple(reasons))
        reasons.append(message("dispatch.override_missing", station_id=address.station_override_id))
    by_distance = sorted(active, key=lambda s: (_km(s, lat, lon), s.id or 0))
    for station in by_distance:
        if station.serves(address.city, address.district) and open_now(station):
            reasons.append(message("dispatch.service_area", district=address.district, station=station.name))
            return StationChoice(station, _km(station, lat, lon), tuple(reasons))
    for station in by_distance:
        if open_now(station):
            km = _km(station, lat, lon)
            reasons.append(message("dispatch.nearest", station=station.name, km=f"{km:.1f}"))
            return StationChoice(station, km, tuple(reasons))
    if by_distance:
        station = by_distance[0]
        km = _km(station, lat, lon)
        reasons.append(message("dispatch.nearest_closed", station=station.name, km=f"{km:.1f}"))
        return StationChoice(station, km, tuple(reasons))
    raise NoStationAvailable("dispatch.no_station")


def choose_courier(couriers: Sequence[Courier], station_id: int, units: int) -> Courier | None:
    """The on-duty courier of ``station_id`` with room for ``units`` and the least load, or None."""
    fit = [c for c in couriers if c.station_id == station_id and c.on_duty and c.has_room_for(units)]
    if not fit:
        return None
    return min(fit, key=lambda c: (c.load, c.active_orders, c.id if c.id is not None else 0))


def estimate_minutes(
    distance_km: float, courier: Courier, address: Address, units: int, params: DispatchParams
) -> int:
    """Minutes until delivery: travel + the orders already queued for the courier + handling."""
    travel = distance_km * params.detour_factor / params.speed_kmh * 60.0
    queue = courier.active_orders * params.minutes_per_queued_order
    stairs = 0.0
    if not address.has_elevator and address.floor > 1:
        stairs = (address.floor - 1) * units * params.stairs_minutes_per_floor_unit
    return math.ceil(travel + queue + params.handling_minutes + stairs)


def decide(
    address: Address,
    units: int,
    stations: Sequence[Station],
    couriers: Sequence[Courier],
    at: datetime,
    params: DispatchParams | None = None,
) -> DispatchDecision:
    """Full dispatch decision for an order of ``units`` pieces to ``address`` placed at ``at``."""
    return decide_at_station(choose_station(address, stations, at), address, units, couriers, at, params)


def decide_at_station(
    choice: StationChoice,
    address: Address,
    units: int,
    couriers: Sequence[Courier],
    at: datetime,
    params: DispatchParams | None = None,
) -> DispatchDecision:
    """The rest of ``decide`` once the station is chosen: its courier and the ETA.

    ``couriers`` need only be those of the chosen station (others are ignored), so a caller can
    choose the station first and then load just that station's couriers.
    """
    params = params or DispatchParams()
    station = choice.station
    assert station.id is not None  # choose_station only returns stored stations
    reasons = list(choice.reasons)
    courier = choose_courier(couriers, station.id, units)
    if courier is None or courier.id is None:
        reasons.append(message("dispatch.no_courier", station=station.name))
        return DispatchDecision(station.id, None, choice.distance_km, None, None, tuple(reasons))
    reasons.append(
        message(
            "dispatch.courier", courier=courier.name, load=courier.load, capacity=courier.capacity_per_trip
        )
    )
    minutes = estimate_minutes(choice.distance_km, courier, address, units, params)
    reasons.append(message("dispatch.eta", minutes=minutes))
    return DispatchDecision(
        station_id=station.id,
        courier_id=courier.id,
        distance_km=choice.distance_km,
        eta_minutes=minutes,
        eta=at + timedelta(minutes=minutes),
        reasons=tuple(reasons),
    )
