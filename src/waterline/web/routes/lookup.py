"""Number lookup (customers.read: agents and up): the region of a caller's number, the source of that
answer, the customer owning the number and the station for the region."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path

from waterline.domain.users import Permission, User
from waterline.services.callers import calendar_overrides, identify_caller
from waterline.web.deps import ServicesDep, UowDep
from waterline.web.routes.access import authorised
from waterline.web.schemas.caller import CallerLookupOut

router = APIRouter(prefix="/api/lookup", tags=["lookup"])


@router.get("/number/{phone}")
def lookup_number(
    phone: Annotated[str, Path(min_length=1, max_length=40, description="电话号码 / phone number")],
    _user: Annotated[User, authorised(Permission.CUSTOMERS_READ)],
    uow: UowDep,
    services: ServicesDep,
) -> CallerLookupOut:
    """Where ``phone`` is: the known customer's default address, else the mobile block's city, else
    the landline area code (029 names only the province), else unknown; 422 when it is not a phone."""
    at = datetime.fromtimestamp(services.clock(), UTC)
    calendar = services.calendar(calendar_overrides(uow))
    identity = identify_caller(uow, services.number_info, phone, calendar=calendar, at=at)
    return CallerLookupOut.of(identity)
