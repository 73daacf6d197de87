"""Agents: their states (own changes by the agent, the list for colleagues and supervisors, the state
log) and contacts.

Who may do what (``domain.users``): every agent and above sees the list (``agents.read``, to know
whom a call can go to); an agent sets his own state (``agents.own_state``; other roles have no
state and get 403); dispatchers and above read anyone's state log and contacts
(``agents.supervise``), an agent his own; managers edit contacts (``agents.manage``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response

from waterline.calls.live import AgentStateChanged, AgentStateNotice
from waterline.domain.agents import AgentStateChange, ContactKind
from waterline.domain.errors import found
from waterline.domain.users import Permission, Role, User
from waterline.services.agents import add_contact, remove_contact, set_own_state
from waterline.web.deps import ServicesDep, SettingsDep, UowDep
from waterline.web.errors import ApiError
from waterline.web.routes.access import authorised
from waterline.web.schemas.agent import AgentOut, ContactIn, ContactOut, StateChangeOut, StateIn


def _aware(value: datetime | None, zone: str) -> datetime | None:
    # a bare time from the console is local (display) time, not UTC
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=ZoneInfo(zone))


router = APIRouter(prefix="/api/agents", tags=["agents"])

MAX_PAGE = 500


def _supervises_or_self(user: User, agent_id: int) -> None:
    if user.id != agent_id and not user.may(Permission.AGENTS_SUPERVISE):
        raise ApiError(
            403, "auth.forbidden", "只能查看自己的记录（或需要 agents.supervise 权限）",
            "Only your own records (or the agents.supervise permission)",
        )


@router.get("")
def list_agents(_user: Annotated[User, authorised(Permission.AGENTS_READ)], uow: UowDep) -> list[AgentOut]:
    """Every active agent with the current state and since when, by username."""
    with uow:
        return [AgentOut.of(status) for status in uow.agents.statuses()]


@router.post("/me/state", responses={403: {"description": "不是坐席 / not an agent"},
                                     409: {"description": "状态不允许 / transition not allowed"},
                                     422: {"description": "无效状态或缺少原因 / bad state or no reason"}})
def set_my_state(
    body: StateIn, user: Annotated[User, authorised(Permission.AGENT_STATE_OWN)], uow: UowDep,
    services: ServicesDep,
) -> StateChangeOut:
    """Set the caller's own state: ``available``, ``paused`` (with a reason: meal, training...) or
    ``logged_out``. Ringing, on call and wrap-up are set by the call engine."""
    if user.role is not Role.AGENT:
        raise ApiError(
            403, "agent.not_agent", f"用户{user.username}不是坐席", f"User {user.username} is not an agent"
        )
    now = datetime.fromtimestamp(services.clock(), UTC)
    by = f"api:{user.username}"
    change = set_own_state(uow, user.id, body.state, reason=body.reason, by=by, now=now)
    _tell_engine(services, user.username, change)
    return StateChangeOut.of(change)


def _tell_engine(services: ServicesDep, username: str, change: AgentStateChange) -> None:
    # The engine's ACD follows the stored change, and publishes it to every web worker's live
    # sockets; without an engine, this worker's own sockets still see it.
    if services.live is None:
        return
    at = change.at.timestamp()
    state, previous = change.to_state.value, change.from_state.value
    services.live.notify_threadsafe(
        AgentStateNotice(username, state, at, previous, change.reason),
        local=AgentStateChanged(username, state, at, previous, change.reason),
    )


@router.get("/{agent_id}/states")
def state_log(
    agent_id: int,
    user: Annotated[User, authorised(Permission.AGENTS_READ)],
    uow: UowDep,
    settings: SettingsDep,
    since: Annotated[datetime | None, Query(alias="from", description="开始时间（含）/ from")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="结束时间（不含）/ before")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[StateChangeOut]:
    """An agent's state changes in ``[from, to)``, newest first (times without a zone are local)."""
    _supervises_or_self(user, agent_id)
    zone = settings.display_timezone
    with uow:
        found(uow.agents.status(agent_id), "agent", agent_id)
        changes = uow.agents.log(
            agent_id, since=_aware(since, zone), until=_aware(until, zone), limit=limit, offset=offset
        )
        return [StateChangeOut.of(change) for change in changes]


@router.get("/{agent_id}/contacts")
def list_contacts(
    agent_id: int, user: Annotated[User, authorised(Permission.AGENTS_READ)], uow: UowDep
) -> list[ContactOut]:
    """How an agent is rung, by priority."""
    _supervises_or_self(user, agent_id)
    with uow:
        found(uow.agents.status(agent_id), "agent", agent_id)
        return [ContactOut.of(contact) for contact in uow.agents.contacts(agent_id)]


@router.post("/{agent_id}/contacts", status_code=201)
def create_contact(
    agent_id: int, body: ContactIn, _user: Annotated[User, authorised(Permission.AGENTS_MANAGE)], uow: UowDep
) -> ContactOut:
    """Add a SIP phone (by SIP username) or a mobile to an agent."""
    kind = ContactKind(body.kind)
    return ContactOut.of(add_contact(uow, agent_id, kind, body.address, priority=body.priority))


@router.delete("/contacts/{contact_id}", status_code=204)
def delete_contact(
    contact_id: int, _user: Annotated[User, authorised(Permission.AGENTS_MANAGE)], uow: UowDep
) -> Response:
    """Remove a contact."""
    remove_contact(uow, contact_id)
    return Response(status_code=204)
