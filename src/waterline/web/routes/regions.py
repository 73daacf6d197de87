"""The districts Waterline knows (stations.read): the choices of a station's district and service
area in the console, with each district's centre to place a new station on the map."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel

from waterline.domain.regions import DISTRICTS
from waterline.domain.users import Permission, User
from waterline.web.routes.access import authorised

router = APIRouter(prefix="/api/regions", tags=["stations"])


class DistrictOut(BaseModel):
    """A county-level district (区/县) of a city, with its centre (WGS-84)."""

    city: str
    name: str
    lat: float
    lon: float


@router.get("/districts")
def list_districts(_user: Annotated[User, authorised(Permission.STATIONS_READ)]) -> list[DistrictOut]:
    """Every known district, grouped by city in the table's order."""
    return [DistrictOut(city=d.city, name=d.name, lat=d.lat, lon=d.lon) for d in DISTRICTS.values()]
