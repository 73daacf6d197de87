"""Delivery stations (送水站): list and read (stations.read), create and change (stations.write)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from waterline.domain import phones
from waterline.domain.errors import InvalidInput, NotFound
from waterline.domain.regions import canonical_city, find_district
from waterline.domain.stations import Station
from waterline.domain.users import Permission, User
from waterline.web.deps import UowDep
from waterline.web.routes.access import authorised
from waterline.web.schemas.station import StationIn, StationOut, StationPatch

router = APIRouter(prefix="/api/stations", tags=["stations"])


def _district(city: str, district: str) -> str:
    found = find_district(city, district)
    if found is None:
        raise InvalidInput("address.unknown_district", city=city, district=district)
    return found.name


def _service_area(city: str, names: list[str]) -> list[str]:
    # normalised and de-duplicated, so "雁塔" and "雁塔区" are one district
    area: list[str] = []
    for name in names:
        canonical = _district(city, name)
        if canonical not in area:
            area.append(canonical)
    return area


@router.get("")
def list_stations(
    _user: Annotated[User, authorised(Permission.STATIONS_READ)], uow: UowDep
) -> list[StationOut]:
    """All stations, by id."""
    with uow:
        return [StationOut.of(s) for s in uow.stations.all()]


@router.get("/{station_id}")
def get_station(
    station_id: int, _user: Annotated[User, authorised(Permission.STATIONS_READ)], uow: UowDep
) -> StationOut:
    """One station (404 when unknown)."""
    with uow:
        station = uow.stations.get(station_id)
        if station is None:
            raise NotFound("station", station_id)
        return StationOut.of(station)


@router.post("", status_code=201)
def create_station(
    body: StationIn, _user: Annotated[User, authorised(Permission.STATIONS_WRITE)], uow: UowDep
) -> StationOut:
    """Open a station; its district and service districts must be districts we know (422 otherwise)."""
    city = canonical_city(body.city)
    district = _district(city, body.district)
    station = Station(
        name=body.name.strip(),
        city=city,
        district=district,
        lat=body.lat,
        lon=body.lon,
        service_districts=_service_area(city, body.service_districts or [district]),
        phone=phones.normalise(body.phone) if body.phone.strip() else "",
        hours=[h.to_domain() for h in body.hours],
        active=body.active,
    )
    with uow:
        uow.stations.add(station)
        uow.commit()
        return StationOut.of(station)


@router.patch("/{station_id}")
def change_station(
    station_id: int,
    body: StationPatch,
    _user: Annotated[User, authorised(Permission.STATIONS_WRITE)],
    uow: UowDep,
) -> StationOut:
    """Change a station's name, service area, phone, hours or whether it is active."""
    with uow:
        station = uow.stations.get(station_id)
        if station is None:
            raise NotFound("station", station_id)
        if body.service_districts is not None:
            station.service_districts = _service_area(station.city, body.service_districts)
        if body.phone is not None:
            station.phone = phones.normalise(body.phone) if body.phone.strip() else ""
        if body.name is not None:
            station.name = body.name.strip()
        if body.hours is not None:
            station.hours = [h.to_domain() for h in body.hours]
        if body.active is not None:
            station.active = body.active
        uow.commit()
        return StationOut.of(station)
