"""Console commands on a live call (calls.handle): hang up, blind transfer to an agent or a queue, start
or stop recording on demand. They are forwarded to the telephony engine over the live channel and
answered with the engine's reply.

An agent acts on the calls offered to him or that he answered; dispatchers, managers and the owner
(agents.supervise) on any call. Statuses: 200 done; 403 not your call; 404 the engine knows no such
call; 409 the engine refused (its message says why); 501 the engine cannot do this yet; 503 no
engine connected; 504 the engine did not answer in time.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field, model_validator

from waterline.calls.live import Command, Hangup, RecordCall, Reply, TransferCall
from waterline.domain.users import Permission, User
from waterline.web.deps import ServicesDep
from waterline.web.errors import ApiError
from waterline.web.routes.access import authorised

router = APIRouter(prefix="/api/calls", tags=["calls"])

CallId = Annotated[str, Path(min_length=1, max_length=200, description="通话 ID / call id")]
STATUS_BY_CODE = {
    "unknown_call": 404,
    "bad_command": 422,
    "not_supported": 501,
    "unavailable": 503,
    "timeout": 504,
}
COMMAND_TIMEOUT = 8.0


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


@router.post("/{call_id}/hangup", responses={403: {}, 404: {}, 501: {}, 503: {}, 504: {}})
async def hang_up(
    call_id: CallId, user: Annotated[User, authorised(Permission.CALLS_HANDLE)], services: ServicesDep
) -> CommandOut:
    """Hang up the call (both sides when it is bridged)."""
    return await _forward(services, user, call_id, Hangup(call_id, by=user.username))


@router.post("/{call_id}/transfer", responses={403: {}, 404: {}, 409: {}, 501: {}, 503: {}, 504: {}})
async def transfer(
    call_id: CallId, body: TransferIn, user: Annotated[User, authorised(Permission.CALLS_HANDLE)],
    services: ServicesDep,
) -> CommandOut:
    """Blind transfer: the caller goes to another agent or into a queue; this agent's leg ends."""
    command = TransferCall(call_id, agent=body.agent, queue=body.queue, by=user.username)
    return await _forward(services, user, call_id, command)


@router.post("/{call_id}/recording", responses={403: {}, 404: {}, 409: {}, 501: {}, 503: {}, 504: {}})
async def recording(
    call_id: CallId, body: RecordingIn, user: Annotated[User, authorised(Permission.CALLS_HANDLE)],
    services: ServicesDep,
) -> CommandOut:
    """Start (``{"on": true}``) or stop (``{"on": false}``) recording the call on demand."""
    return await _forward(services, user, call_id, RecordCall(call_id, on=body.on, by=user.username))
