"""Where a caller is: the region of a phone number, how we know it, and the station for that region.

Region resolution runs in a fixed order (issue 5): the known customer's default address, the mobile
block's city, the landline's area code, else unknown. ``LocalitySource`` records which step answered,
so a call record and an agent can tell a guess from a fact. A locality may know the province but not
the city: 029 is shared by 西安, 咸阳 and 杨凌, and nothing in the number decides between them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from waterline.domain.stations import Station


class LocalitySource(enum.StrEnum):
    """Which step of the resolution answered."""

    ADDRESS = "address"  # the known customer's default delivery address
    MOBILE_BLOCK = "mobile_block"  # the mobile number block table (PyPI ``phone``)
    GEOCODER = "geocoder"  # ``phonenumbers``' geocoder (blocks or area codes the table lacks)
    AREA_CODE = "area_code"  # our own table of Shaanxi landline area codes
    CALLER = "caller"  # the caller chose his city in the flow's menu
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Locality:
    """Province and city of a caller (full names: ``陕西省``, ``西安市``), either possibly unknown.

    ``district`` is known only from an address. ``candidates`` lists the cities an undecided answer
    could be (029 -> 西安市, 咸阳市, 杨凌示范区), so a flow can ask the caller to choose.
    ``area_code`` is the long-distance code (``029``, ``0917``) when the source gave one.
    """

    province: str | None
    city: str | None
    source: LocalitySource
    district: str | None = None
    area_code: str | None = None
    candidates: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        """True when at least the province is known."""
        return self.province is not None


UNKNOWN = Locality(province=None, city=None, source=LocalitySource.UNKNOWN)


def station_for_city(
    stations: Sequence[Station], city: str | None, is_open: Callable[[Station], bool]
) -> Station | None:
    """The station for a caller known only to the city: an active station in that city, open ones
    first (``is_open`` decides, calendar included), then the one serving the most districts, then
    the lowest id. None when the city is unknown or has no station."""
    if city is None:
        return None
    local = [s for s in stations if s.active and s.id is not None and s.city == city]
    if not local:
        return None
    return min(local, key=lambda s: (not is_open(s), -len(s.service_districts), s.id or 0))
