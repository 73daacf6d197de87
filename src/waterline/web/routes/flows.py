"""Call flows (flows.read to look, flows.manage to save and publish): versions are immutable, one is
current, and the telephony engine picks up a publish at the next call without a restart."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from waterline.domain.errors import NotFound
from waterline.domain.users import Permission, User
from waterline.services.callflows import InvalidFlow, check_flow, publish_flow, save_flow_version
from waterline.telephony.prompt import DEFAULT_PROMPT_DIR, PromptLibrary
from waterline.web.deps import ServicesDep, SettingsDep, UowDep
from waterline.web.errors import error_body
from waterline.web.routes.access import authorised
from waterline.web.routes.prompts import uploads_dir
from waterline.web.schemas.flow import FlowOut, FlowVersionIn, FlowVersionOut, PublishIn

router = APIRouter(prefix="/api/flows", tags=["flows"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "未找到 / not found"}}


def _now(services: ServicesDep) -> datetime:
    return datetime.fromtimestamp(services.clock(), UTC)


def prompt_names(data_dir: Path) -> list[str]:
    """The prompts a flow may play: the business's uploads and the shipped ones."""
    return PromptLibrary([uploads_dir(data_dir), DEFAULT_PROMPT_DIR]).names()


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
    uow: UowDep, services: ServicesDep, settings: SettingsDep,
) -> Any:
    """Validate and save the next version of ``name`` (a new name creates the flow); ``publish`` makes
    it current at once. A flow playing a prompt the library does not have is refused like any error."""
    check = partial(check_flow, prompts=prompt_names(settings.data_dir))
    try:
        saved = save_flow_version(uow, name, body.text, author=user.username, now=_now(services),
                                  check=check, publish=body.publish)
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
