"""Live WebSockets: ``/ws/agent`` (an agent's calls with the customer card, his state) and
``/ws/supervisor`` (queues, agents and calls, for dispatchers, managers and the owner).

Authentication: the same tokens as ``/api/auth/token``, given as ``?token=…``, or the console's
session cookie (same origin only), or as the first message ``{"type": "auth", "token": "…"}`` within
:data:`AUTH_SECONDS`. A refused socket is closed with code 4401 (not authenticated) or 4403 (role not
allowed); 1013 means this worker has no live channel or the browser fell too far behind (reconnect).
The browser may send ``{"type": "ping"}`` (answered ``{"type": "pong"}``); other messages are ignored.
Message types: see :mod:`waterline.web.live`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from waterline.adapters.db.users import UserRepository
from waterline.config import Settings
from waterline.domain.agents import AgentStatus
from waterline.domain.users import Permission, Role, User
from waterline.web.auth import InvalidToken, verify_token
from waterline.web.deps import AppServices
from waterline.web.live import LiveHub, Subscription

router = APIRouter(tags=["live"])

AUTH_SECONDS = 5.0
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TRY_AGAIN = 1013


def _same_origin(websocket: WebSocket) -> bool:
    # A cookie rides along with any page's WebSocket (cross-site WebSocket hijacking): with the cookie
    # only a page of our own origin may connect. Tokens in the URL or first message are not ambient.
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser
    return urlsplit(origin).netloc == websocket.headers.get("host")


def _load_user(services: AppServices, user_id: int) -> User | None:
    with services.session_factory() as session:
        return UserRepository(session, services.hasher).get(user_id)


async def _user_of(token: str, settings: Settings, services: AppServices) -> User | None:
    now = services.clock()
    try:
        claims = verify_token(settings.secret, token, now=now)
    except InvalidToken:
        return None
    cache = services.user_cache
    user = cache.get(claims.user_id, token, now=now)
    if user is None:
        generation = cache.generation
        user = await run_in_threadpool(_load_user, services, claims.user_id)
        if user is None or not user.active:
            return None
        cache.put(user, token, now=now, generation=generation)
    return user


async def _authenticate(websocket: WebSocket) -> User | None:
    """The user of an accepted socket, or None (the socket is then closed with 4401)."""
    settings: Settings = websocket.app.state.settings
    services: AppServices = websocket.app.state.services
    token = websocket.query_params.get("token")
    if not token:
        cookie = websocket.cookies.get(settings.auth.cookie_name)
        if cookie and _same_origin(websocket):
            token = cookie
    if not token:
        try:
            first = await asyncio.wait_for(websocket.receive_json(), AUTH_SECONDS)
        except WebSocketDisconnect:
            return None  # gone before saying who he is
        except (TimeoutError, ValueError, KeyError):
            first = None
        if isinstance(first, dict) and first.get("type") == "auth" and isinstance(first.get("token"), str):
            token = first["token"]
    user = await _user_of(token, settings, services) if token else None
    if user is None:
        await websocket.close(CLOSE_UNAUTHENTICATED, "未登录或登录已过期 / not authenticated")
    return user


async def _pump(websocket: WebSocket, subscription: Subscription) -> None:
    while True:
        text = await subscription.get()
        if text is None:
            await websocket.close(CLOSE_TRY_AGAIN, "消息积压，请重新连接 / too far behind, reconnect")
            return
        await websocket.send_text(text)


async def _listen(websocket: WebSocket) -> None:
    while True:
        message = await websocket.receive_json()
        if isinstance(message, dict) and message.get("type") == "ping":
            await websocket.send_json({"type": "pong"})


async def _serve(websocket: WebSocket, hub: LiveHub, subscription: Subscription) -> None:
    tasks = [asyncio.create_task(_pump(websocket, subscription)), asyncio.create_task(_listen(websocket))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hub.detach(subscription)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError, ValueError):
                await task


def _hub(websocket: WebSocket) -> LiveHub | None:
    services: AppServices = websocket.app.state.services
    return services.live


def _state_message(status: AgentStatus) -> dict[str, Any]:
    return {
        "type": "agent.state", "agent": status.username, "id": status.user_id,
        "display_name": status.display_name, "state": status.state.value, "reason": status.reason,
        "at": status.since.timestamp() if status.since is not None else None,
    }


@router.websocket("/ws/agent")
async def agent_socket(websocket: WebSocket) -> None:
    """An agent's live channel: ``hello`` (state), then ``call.offered`` with ``card``,
    ``call.answered``, ``call.ended``, ``agent.state`` of this agent only, and ``queue.stats``."""
    await websocket.accept()
    user = await _authenticate(websocket)
    if user is None:
        return
    if user.role is not Role.AGENT or not user.may(Permission.AGENT_STATE_OWN):
        await websocket.close(CLOSE_FORBIDDEN, "仅限坐席 / agents only")
        return
    hub = _hub(websocket)
    if hub is None:
        await websocket.close(CLOSE_TRY_AGAIN, "实时通道未启用 / live channel not available")
        return
    services: AppServices = websocket.app.state.services
    stored = await run_in_threadpool(_stored_state, services, user.id)
    subscription = hub.attach_agent(user.username, stored)
    await _serve(websocket, hub, subscription)


@router.websocket("/ws/supervisor")
async def supervisor_socket(websocket: WebSocket) -> None:
    """The supervisors' live channel: ``hello``, a ``snapshot`` (agents with their states, queue stats,
    calls in progress), then every ``agent.state``, ``queue.stats`` and ``call.*`` event (no cards)."""
    await websocket.accept()
    user = await _authenticate(websocket)
    if user is None:
        return
    if not user.may(Permission.AGENTS_SUPERVISE):
        await websocket.close(CLOSE_FORBIDDEN, "需要班长、经理或老板权限 / supervisors only")
        return
    hub = _hub(websocket)
    if hub is None:
        await websocket.close(CLOSE_TRY_AGAIN, "实时通道未启用 / live channel not available")
        return
    services: AppServices = websocket.app.state.services
    stored = await run_in_threadpool(_stored_agents, services)
    subscription = hub.attach_supervisor(stored)
    await _serve(websocket, hub, subscription)


def _stored_state(services: AppServices, user_id: int) -> dict[str, Any] | None:
    if services.uow_factory is None:
        return None
    with services.uow_factory() as uow:
        status = uow.agents.status(user_id)
    return _state_message(status) if status is not None else None


def _stored_agents(services: AppServices) -> list[dict[str, Any]]:
    if services.uow_factory is None:
        return []
    with services.uow_factory() as uow:
        return [_state_message(status) for status in uow.agents.statuses()]
