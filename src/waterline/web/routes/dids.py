"""400 numbers (DIDs) and the flow answering each (flows.read to look, flows.manage to change)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Response

from waterline.domain.users import Permission, User
from waterline.services.callflows import route_did, unroute_did
from waterline.web.deps import ServicesDep, UowDep
from waterline.web.routes.access import authorised
from waterline.web.schemas.flow import DidIn, DidOut

router = APIRouter(prefix="/api/dids", tags=["flows"])


@router.get("")
def list_dids(_user: Annotated[User, authorised(Permission.FLOWS_READ)], uow: UowDep) -> list[DidOut]:
    """Every routed number, by number."""
    with uow:
        return [DidOut.of(route) for route in uow.flows.routes()]


@router.put("/{did}", responses={404: {"description": "流程不存在 / no such flow"},
                                 409: {"description": "流程未发布 / flow not published"}})
def set_did(
    did: str, body: DidIn, _user: Annotated[User, authorised(Permission.FLOWS_MANAGE)],
    uow: UowDep, services: ServicesDep,
) -> DidOut:
    """Route a number (any written form: ``400-636-0888``) to a published flow; the next call uses it."""
    now = datetime.fromtimestamp(services.clock(), UTC)
    return DidOut.of(route_did(uow, did, body.flow, now=now))


@router.delete("/{did}", status_code=204, responses={404: {"description": "未找到 / not found"}})
def delete_did(
    did: str, _user: Annotated[User, authorised(Permission.FLOWS_MANAGE)], uow: UowDep
) -> Response:
    """Stop routing a number."""
    unroute_did(uow, did)
    return Response(status_code=204)
