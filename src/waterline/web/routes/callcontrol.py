"""Console commands on a live call (calls.handle): hang up, blind transfer to an agent or a queue, start
or stop recording on demand. They are forwarded to the telephony engine over the live channel and
answered with the engine's reply. And the wrap-up: the agent's disposition (code and notes) of a call,
stored (one per call and agent; posting again replaces it).

An agent acts on the calls offered to him or that he answered; dispatchers, managers and the owner
(agents.supervise) on any call. Statuses: 200 done; 403 not your call; 404 the engine knows no such
call; 409 the engine refused (its message says why); 501 the engine cannot do this yet; 503 no
engine connected; 504 the engine did not answer in time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field, model_validator

from waterline.adapters.db.dispositions import DispositionRepository
from waterline.calls.live import Command, Hangup, RecordCall, Reply, TransferCall
from waterline.domain.dispositions import new_disposition
from waterline.domain.users import Permission, User
from waterline.web.deps import ServicesDep, SessionDep, SettingsDep
from waterline.web.errors import ApiError
from waterline.web.routes.access import authorised
from waterline.web.schemas.disposition import DispositionIn, DispositionOut

router = APIRouter(tags=["calls"])

CallId = Annotated[str, Path(min_length=1, max_length=200, description="通话 ID / call id")]
STATUS_BY_CODE = {
    "unknown_call": 404,
    "bad_command": 422,
    "not_supported": 501,
    "unavailable": 503,
    "timeout": 504,
}
COMMAND_TIMEOUT = 8.0
REFUSALS: dict[int | str, dict[str, Any]] = {code: {} for code in (403, 404, 409, 501, 503, 504)}


class TransferIn(BaseModel):
    """Where to send the call: one agent (username) or one queue (name)."""

    agent: str = Field(default="", max_length=32)
    queue: str = Field(default="", max_length=64)

    @model_validator(mode="after")
    def _one_target(self) -> TransferIn:
        if bool(self.agent) == bool(self.queue):
            raise ValueError("give exactly one of agent and queue / 坐席和队列只能填一个")
        return self


class RecordingIn(BaseModel):
    """``true`` starts recording the call, ``false`` stops it."""

    on: bool


class CommandOut(BaseModel):
    """The engine carried the command out."""

    call_id: str
    command: str
    result: dict[str, Any]


async def _forward(services: ServicesDep, user: User, call_id: str, command: Command) -> CommandOut:
    hub = services.live
    if hub is None or not hub.connected:
        raise ApiError(503, "live.unavailable", "电话引擎未连接，请稍后再试",
                       "The telephony engine is not connected; try again shortly")
    if not user.may(Permission.AGENTS_SUPERVISE) and call_id not in hub.calls_of(user.username):
        raise ApiError(403, "call.not_yours", "只能操作分配给自己的通话",
                       "You can only act on calls offered to you")
    reply: Reply | None = await hub.command(command, COMMAND_TIMEOUT)
    if reply is None:
        raise ApiError(503, "live.unavailable", "电话引擎未连接，请稍后再试",
                       "The telephony engine is not connected; try again shortly")
    if not reply.ok:
        raise ApiError(STATUS_BY_CODE.get(reply.code, 409), f"call.{reply.code}", reply.zh, reply.en)
    return CommandOut(call_id=call_id, command=command.NAME, result=dict(reply.data))


@router.post("/api/calls/{call_id}/hangup", responses=REFUSALS)
async def hang_up(
    call_id: CallId, user: Annotated[User, authorised(Permission.CALLS_HANDLE)], services: ServicesDep
) -> CommandOut:
    """Hang up the call (both sides when it is bridged)."""
    return await _forward(services, user, call_id, Hangup(call_id, by=user.username))


@router.post("/api/calls/{call_id}/transfer", responses=REFUSALS)
async def transfer(
    call_id: CallId, body: TransferIn, user: Annotated[User, authorised(Permission.CALLS_HANDLE)],
    services: ServicesDep,
) -> CommandOut:
    """Blind transfer: the caller goes to another agent or into a queue; this agent's leg ends."""
    command = TransferCall(call_id, agent=body.agent, queue=body.queue, by=user.username)
    return await _forward(services, user, call_id, command)


@router.post("/api/calls/{call_id}/recording", responses=REFUSALS)
async def recording(
    call_id: CallId, body: RecordingIn, user: Annotated[User, authorised(Permission.CALLS_HANDLE)],
    services: ServicesDep,
) -> CommandOut:
    """Start (``{"on": true}``) or stop (``{"on": false}``) recording the call on demand."""
    return await _forward(services, user, call_id, RecordCall(call_id, on=body.on, by=user.username))


@router.post("/api/calls/{call_id}/disposition", responses={422: {"description": "无效类型 / bad code"}})
def record_disposition(
    call_id: CallId, body: DispositionIn, user: Annotated[User, authorised(Permission.CALLS_HANDLE)],
    session: SessionDep, services: ServicesDep,
) -> DispositionOut:
    """Record (or correct) the caller's wrap-up of a call: code and notes, by the logged-in user."""
    now = datetime.fromtimestamp(services.clock(), UTC)
    disposition = new_disposition(call_id, user.id, body.code, body.notes, now)
    stored = DispositionRepository(session).save(disposition)
    session.commit()
    return DispositionOut.of(stored)


@router.get("/api/calls/{call_id}/dispositions")
def call_dispositions(
    call_id: CallId, user: Annotated[User, authorised(Permission.CALLS_HANDLE)], session: SessionDep
) -> list[DispositionOut]:
    """The dispositions of a call, oldest first: an agent sees his own, supervisors everyone's."""
    found = DispositionRepository(session).for_call(call_id)
    if not user.may(Permission.AGENTS_SUPERVISE):
        found = [d for d in found if d.agent_id == user.id]
    return [DispositionOut.of(d) for d in found]


@router.get("/api/agents/me/dispositions")
def my_dispositions(
    user: Annotated[User, authorised(Permission.CALLS_HANDLE)], session: SessionDep, settings: SettingsDep,
    since: Annotated[datetime | None, Query(alias="from", description="开始时间（含）/ from")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="结束时间（不含）/ before")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DispositionOut]:
    """The logged-in user's dispositions in ``[from, to)``, newest first (the desktop's calls today).
    Times without a zone are local (display) time."""
    zone = ZoneInfo(settings.display_timezone)
    since = since.replace(tzinfo=zone) if since is not None and since.tzinfo is None else since
    until = until.replace(tzinfo=zone) if until is not None and until.tzinfo is None else until
    found = DispositionRepository(session).of_agent(user.id, since=since, until=until, limit=limit)
    return [DispositionOut.of(d) for d in found]
