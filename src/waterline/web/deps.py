"""FastAPI dependencies: the app's services, a DB session, the current user, permission checks.

Routes declare what they need with ``Annotated`` aliases::

    @router.get("/api/things")
    def list_things(user: Annotated[User, require(Permission.ORDERS_READ)], session: SessionDep) -> ...

Business routes take ``bus: BusDep`` to send commands and ``uow: UowDep`` (used in a ``with``
block) for queries.  ``require(permission)`` answers 401 (no or bad credentials) or 403 (role
lacks the permission), both with Chinese and English messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from argon2 import PasswordHasher
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session, sessionmaker

from waterline.adapters.db.users import UserRepository, default_hasher
from waterline.config import Settings
from waterline.domain.users import Permission, User, roles_with
from waterline.services.bus import MessageBus
from waterline.services.ports import UnitOfWork
from waterline.web.auth import InvalidToken, verify_token
from waterline.web.errors import ApiError

TOKEN_URL = "/api/auth/token"


@dataclass(frozen=True)
class AppServices:
    """What the web app needs from the rest of the system; built by ``bootstrap``.

    ``bus`` is the service layer's message bus (commands in, events out); ``uow_factory`` opens a
    unit of work for read-only queries (``services.queries``); ``background`` are
    coroutine factories run as tasks while the app is up (e.g. the outbox worker) and cancelled
    at shutdown.
    """

    session_factory: sessionmaker[Session]
    hasher: PasswordHasher = field(default_factory=default_hasher)
    clock: Callable[[], float] = time.time
    bus: MessageBus | None = None
    uow_factory: Callable[[], UnitOfWork] | None = None
    background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = ()


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_services(request: Request) -> AppServices:
    """The services the app was created with."""
    services: AppServices = request.app.state.services
    return services


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServicesDep = Annotated[AppServices, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    """A session for this request, closed afterwards; routes commit what they change."""
    with services.session_factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def _unavailable(what: str) -> ApiError:
    return ApiError(
        503,
        "service.unavailable",
        f"业务服务尚未配置（{what}）",
        f"Service not configured: {what}",
    )


def get_bus(services: ServicesDep) -> MessageBus:
    """The message bus; 503 when the app was built without one (e.g. a users-only test app)."""
    if services.bus is None:
        raise _unavailable("message bus")
    return services.bus


def get_uow(services: ServicesDep) -> UnitOfWork:
    """A fresh unit of work for queries (use it in a ``with`` block); 503 when not configured."""
    if services.uow_factory is None:
        raise _unavailable("unit of work")
    return services.uow_factory()


BusDep = Annotated[MessageBus, Depends(get_bus)]
UowDep = Annotated[UnitOfWork, Depends(get_uow)]

_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


def _unauthenticated(en_detail: str) -> ApiError:
    return ApiError(
        401,
        "auth.required",
        "未登录或登录已过期，请重新登录",
        f"Not authenticated: {en_detail}",
        headers={"WWW-Authenticate": "Bearer"},
    )


def current_user(
    request: Request,
    settings: SettingsDep,
    services: ServicesDep,
    session: SessionDep,
    bearer: Annotated[str | None, Depends(_bearer)],
) -> User:
    """The user of this request, from the bearer token or else the session cookie; 401 otherwise."""
    token = bearer or request.cookies.get(settings.auth.cookie_name)
    if not token:
        raise _unauthenticated("no bearer token or session cookie")
    try:
        claims = verify_token(settings.secret, token, now=services.clock())
    except InvalidToken as exc:
        raise _unauthenticated(str(exc)) from None
    user = UserRepository(session, services.hasher).get(claims.user_id)
    if user is None or not user.active:
        raise _unauthenticated("user unknown or disabled")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require(permission: Permission) -> Any:
    """A dependency giving the current user if his role allows ``permission``; 403 otherwise.

    Use as ``user: Annotated[User, require(Permission.X)]`` or in ``dependencies=[require(...)]``.
    """

    def check(user: CurrentUser) -> User:
        if not user.may(permission):
            roles = "、".join(role.value for role in roles_with(permission))
            raise ApiError(
                403,
                "auth.forbidden",
                f"没有权限（{permission.value}），需要角色：{roles}",
                f"Forbidden: {permission.value} needs one of the roles {roles.replace('、', ', ')}",
            )
        return user

    return Depends(check)
