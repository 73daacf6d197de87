"""Couriers (送水员): list and read (couriers.read), create and change (couriers.write), on/off duty.

A courier may switch his own duty status; everything else about couriers is for dispatchers and up.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from waterline.domain import phones
from waterline.domain.errors import InvalidInput, NotFound, found
from waterline.domain.phones import PhoneKind
from waterline.domain.stations import Courier
from waterline.domain.users import Permission, User
from waterline.services.ports import UnitOfWork
from waterline.web.deps import UowDep
from waterline.web.errors import ApiError
from waterline.web.routes.access import SignedIn, authorised
from waterline.web.schemas.courier import CourierIn, CourierOut, CourierPatch, DutyIn

router = APIRouter(prefix="/api/couriers", tags=["couriers"])


def _mobile(raw: str) -> str:
    number = phones.normalise(raw)
    if phones.kind(number) is not PhoneKind.MOBILE:
        raise InvalidInput(
            "invalid_input", detail=f"courier phone must be a mobile / 送水员须留手机号：{raw}"
        )
    return number


def _courier(uow: UnitOfWork, courier_id: int) -> Courier:
    return found(uow.couriers.get(courier_id), "courier", courier_id)


def _station_exists(uow: UnitOfWork, station_id: int) -> None:
    if uow.stations.get(station_id) is None:
        raise NotFound("station", station_id)


@router.get("")
def list_couriers(
    _user: Annotated[User, authorised(Permission.COURIERS_READ)],
    uow: UowDep,
    station_id: Annotated[int | None, Query(description="只看某站 / one station only")] = None,
    on_duty: Annotated[bool | None, Query(description="在岗与否 / on duty or not")] = None,
) -> list[CourierOut]:
    """Couriers with their current load, by id."""
    with uow:
        found = uow.couriers.all(station_id=station_id)
        return [CourierOut.of(c) for c in found if on_duty is None or c.on_duty is on_duty]


@router.get("/me")
def my_courier(user: Annotated[User, authorised(Permission.DELIVERIES_OWN)], uow: UowDep) -> CourierOut:
    """The courier record of the logged-in courier (404 when his login is not linked to one)."""
    with uow:
        courier = uow.couriers.find_by_user(user.id)
        if courier is None and user.courier_id is not None:
            courier = uow.couriers.get(user.courier_id)
        if courier is None:
            raise NotFound("courier", f"user {user.username}")
        return CourierOut.of(courier)


@router.get("/{courier_id}")
def get_courier(
    courier_id: int, _user: Annotated[User, authorised(Permission.COURIERS_READ)], uow: UowDep
) -> CourierOut:
    """One courier (404 when unknown)."""
    with uow:
        return CourierOut.of(_courier(uow, courier_id))


@router.post("", status_code=201)
def create_courier(
    body: CourierIn, _user: Annotated[User, authorised(Permission.COURIERS_WRITE)], uow: UowDep
) -> CourierOut:
    """Add a courier to a station (his phone must be a mobile)."""
    mobile = _mobile(body.mobile)
    with uow:
        _station_exists(uow, body.station_id)
        courier = uow.couriers.add(
            Courier(
                station_id=body.station_id,
                name=body.name.strip(),
                mobile=mobile,
                capacity_per_trip=body.capacity_per_trip,
                on_duty=body.on_duty,
                user_id=body.user_id,
            )
        )
        uow.commit()
        return CourierOut.of(courier)


@router.patch("/{courier_id}")
def change_courier(
    courier_id: int,
    body: CourierPatch,
    _user: Annotated[User, authorised(Permission.COURIERS_WRITE)],
    uow: UowDep,
) -> CourierOut:
    """Change a courier; moving him to another station while he carries orders is refused (409)."""
    with uow:
        courier = _courier(uow, courier_id)
        if body.station_id is not None and body.station_id != courier.station_id:
            _station_exists(uow, body.station_id)
            if courier.active_orders:
                raise ApiError(
                    409,
                    "courier.busy",
                    f"送水员{courier.name}还有{courier.active_orders}个未完成订单，不能换站",
                    f"Courier {courier.name} still has {courier.active_orders} open orders; cannot move him",
                )
            courier.station_id = body.station_id
        if body.mobile is not None:
            courier.mobile = _mobile(body.mobile)
        if body.name is not None:
            courier.name = body.name.strip()
        if body.capacity_per_trip is not None:
            courier.capacity_per_trip = body.capacity_per_trip
        if body.on_duty is not None:
            courier.on_duty = body.on_duty
        if body.user_id is not None:
            courier.user_id = body.user_id
        uow.commit()
        return CourierOut.of(courier)


@router.post("/{courier_id}/duty")
def set_duty(courier_id: int, body: DutyIn, user: SignedIn, uow: UowDep) -> CourierOut:
    """Go on or off duty: dispatchers for anyone, a courier for himself. Off duty gets no new orders."""
    with uow:
        courier = _courier(uow, courier_id)
        own = courier.user_id == user.id or user.courier_id == courier.id
        if not (user.may(Permission.COURIERS_WRITE) or (own and user.may(Permission.DELIVERIES_OWN))):
            raise ApiError(
                403,
                "auth.forbidden",
                "只能修改自己的在岗状态",
                "Forbidden: you may only change your own duty status",
            )
        courier.on_duty = body.on_duty
        uow.commit()
        return CourierOut.of(courier)
