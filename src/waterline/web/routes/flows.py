"""Call flows (flows.read to look, flows.manage to save and publish): versions are immutable, one is
current, and the telephony engine picks up a publish at the next call without a restart."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from waterline.domain.errors import NotFound
from waterline.domain.users import Permission, User
from waterline.services.callflows import InvalidFlow, publish_flow, save_flow_version
from waterline.web.deps import ServicesDep, UowDep
from waterline.web.errors import error_body
from waterline.web.routes.access import authorised
from waterline.web.schemas.flow import FlowOut, FlowVersionIn, FlowVersionOut, PublishIn

router = APIRouter(prefix="/api/flows", tags=["flows"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "未找到 / not found"}}


def _now(services: ServicesDep) -> datetime:
    return datetime.fromtimestamp(services.clock(), UTC)


def invalid_flow_response(error: InvalidFlow) -> JSONResponse:
    """400 with the parser's message (naming node and field) in both languages, plus ``node``/``field``."""
    return JSONResponse(
        error_body(error.code, error.message_zh, error.message_en, node=error.node, field=error.field),
        status_code=400,
    )


@router.get("")
def list_flows(_user: Annotated[User, authorised(Permission.FLOWS_READ)], uow: UowDep) -> list[FlowOut]:
    """Every flow with its current version and the numbers routed to it."""
    with uow:
        routes = uow.flows.routes()
        return [
            FlowOut.of(summary, [r.did for r in routes if r.flow_name == summary.name])
            for summary in uow.flows.all()
        ]


@router.get("/{name}", responses=NOT_FOUND)
def get_flow(name: str, _user: Annotated[User, authorised(Permission.FLOWS_READ)], uow: UowDep) -> FlowOut:
    """One flow."""
    with uow:
        summary = uow.flows.get(name)
        if summary is None:
            raise NotFound("flow", name)
        return FlowOut.of(summary, [r.did for r in uow.flows.routes() if r.flow_name == name])


@router.get("/{name}/versions", responses=NOT_FOUND)
def list_versions(
    name: str, _user: Annotated[User, authorised(Permission.FLOWS_READ)], uow: UowDep
) -> list[FlowVersionOut]:
    """Every version of the flow, newest first (without the text)."""
    with uow:
        summary = uow.flows.get(name)
        if summary is None:
            raise NotFound("flow", name)
        current = summary.current_version
        return [FlowVersionOut.of(v, current=current, with_text=False) for v in uow.flows.versions(name)]


@router.get("/{name}/versions/{version}", responses=NOT_FOUND)
def get_version(
    name: str, version: int, _user: Annotated[User, authorised(Permission.FLOWS_READ)], uow: UowDep
) -> FlowVersionOut:
    """One version with its YAML text."""
    with uow:
        summary = uow.flows.get(name)
        found = uow.flows.get_version(name, version)
        if summary is None or found is None:
            raise NotFound("flow version", f"{name} v{version}")
        return FlowVersionOut.of(found, current=summary.current_version, with_text=True)


@router.post(
    "/{name}/versions", status_code=201, response_model=FlowVersionOut,
    responses={400: {"description": "流程无效（指出节点和字段）/ invalid flow, naming node and field"}},
)
def create_version(
    name: str, body: FlowVersionIn, user: Annotated[User, authorised(Permission.FLOWS_MANAGE)],
    uow: UowDep, services: ServicesDep,
) -> Any:
    """Validate and save the next version of ``name`` (a new name creates the flow); ``publish`` makes
    it current at once."""
    try:
        saved = save_flow_version(uow, name, body.text, author=user.username, now=_now(services),
                                  publish=body.publish)
    except InvalidFlow as error:
        return invalid_flow_response(error)
    return FlowVersionOut.of(saved, current=saved.version if body.publish else None, with_text=True)


@router.post("/{name}/publish", responses=NOT_FOUND)
def publish(
    name: str, body: PublishIn, _user: Annotated[User, authorised(Permission.FLOWS_MANAGE)],
    uow: UowDep, services: ServicesDep,
) -> FlowOut:
    """Make a saved version current; calls already up keep the version they started with."""
    summary = publish_flow(uow, name, body.version, now=_now(services))
    with uow:
        return FlowOut.of(summary, [r.did for r in uow.flows.routes() if r.flow_name == name])
