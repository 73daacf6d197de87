"""FastAPI dependencies: the app's services, a DB session, the current user, permission checks.

Routes declare what they need with ``Annotated`` aliases::

    @router.get("/api/things")
    def list_things(user: Annotated[User, require(Permission.ORDERS_READ)], session: SessionDep) -> ...

Business routes take ``bus: BusDep`` to send commands and ``uow: UowDep`` (used in a ``with``
block) for queries.  ``require(permission)`` answers 401 (no or bad credentials) or 403 (role
lacks the permission), both with Chinese and English messages.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from argon2 import PasswordHasher
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session, sessionmaker

from waterline.adapters.calendar import ChineseWorkCalendar
from waterline.adapters.db.users import UserRepository, default_hasher
from waterline.adapters.numberinfo import PhoneNumberInfo
from waterline.config import Settings
from waterline.domain.hours import WorkCalendar
from waterline.domain.users import Permission, User, roles_with
from waterline.services.bus import MessageBus
from waterline.services.ports import NumberInfo, UnitOfWork
from waterline.web.auth import InvalidToken, verify_token
from waterline.web.errors import ApiError
from waterline.web.live import LiveHub

TOKEN_URL = "/api/auth/token"


class UserCache:
    """Users recently loaded for a bearer token, so most requests authenticate without the database.

    Entries are keyed by user id and token and live ``ttl`` seconds of the app's clock; routes that
    change a user call ``invalidate(user_id)`` so that disabling him takes effect at once in this
    process (another worker process notices within ``ttl``). At most ``max_entries`` are kept, the
    oldest dropped first. Safe to use from the threadpool and the event loop at once.
    """

    def __init__(self, ttl: float = 5.0, max_entries: int = 1024) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[int, str], tuple[float, User]] = OrderedDict()
        self._lock = threading.Lock()
        # Bumped by invalidate(), so a load that began before a change does not store a stale user.
        self._generation = 0

    @property
    def generation(self) -> int:
        """A counter that changes on every ``invalidate``; pass it back to ``put``."""
        return self._generation

    def get(self, user_id: int, token: str, *, now: float) -> User | None:
        """The cached user for this token, or None when absent or older than ``ttl``."""
        with self._lock:
            entry = self._entries.get((user_id, token))
            if entry is None:
                return None
            if now - entry[0] >= self.ttl or now < entry[0]:
                del self._entries[(user_id, token)]
                return None
            return entry[1]

    def put(self, user: User, token: str, *, now: float, generation: int) -> None:
        """Remember ``user`` for ``token`` unless the cache was invalidated since ``generation``."""
        with self._lock:
            if generation != self._generation:
                return
            key = (user.id, token)
            self._entries[key] = (now, user)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def invalidate(self, user_id: int | None = None) -> None:
        """Forget ``user_id`` (every user when None); the next request loads him again."""
        with self._lock:
            self._generation += 1
            if user_id is None:
                self._entries.clear()
                return
            for key in [k for k in self._entries if k[0] == user_id]:
                del self._entries[key]


@dataclass(frozen=True)
class AppServices:
    """What the web app needs from the rest of the system; built by ``bootstrap``.

    ``bus`` is the service layer's message bus (commands in, events out); ``uow_factory`` opens a
    unit of work for read-only queries (``services.queries``); ``background`` are
    coroutine factories run as tasks while the app is up (e.g. the outbox worker) and cancelled
    at shutdown. ``number_info`` locates phone numbers; ``calendar`` builds the working calendar from
    the override table's rows (day -> is a workday). ``live`` is this worker's hub of live events
    (``/ws/agent``, console commands to the engine); None without one.
    """

    session_factory: sessionmaker[Session]
    hasher: PasswordHasher = field(default_factory=default_hasher)
    clock: Callable[[], float] = time.time
    bus: MessageBus | None = None
    uow_factory: Callable[[], UnitOfWork] | None = None
    background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = ()
    user_cache: UserCache = field(default_factory=UserCache)
    number_info: NumberInfo = field(default_factory=PhoneNumberInfo)
    calendar: Callable[[Mapping[date, bool]], WorkCalendar] = ChineseWorkCalendar
    live: LiveHub | None = None


# The dependencies below that do no I/O are ``async def``: FastAPI runs sync dependencies in its
# threadpool, and each such hop costs more than the dependency itself.


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_services(request: Request) -> AppServices:
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


# The hot dependencies below read the app's state from the request instead of depending on
# ``get_services``/``get_settings``: FastAPI solves every sub-dependency of every request, and each
# solve cost more than the attribute read (dependency solving was a quarter of a screen-pop lookup).


async def get_bus(request: Request) -> MessageBus:
    """The message bus; 503 when the app was built without one (e.g. a users-only test app)."""
    services: AppServices = request.app.state.services
    if services.bus is None:
        raise _unavailable("message bus")
    return services.bus


async def get_uow(request: Request) -> UnitOfWork:
    """A fresh unit of work for queries (use it in a ``with`` block); 503 when not configured."""
    services: AppServices = request.app.state.services
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


def _load_user(services: AppServices, user_id: int) -> User | None:
    # A session of its own, closed at once: the connection is back in the pool before the route runs.
    with services.session_factory() as session:
        return UserRepository(session, services.hasher).get(user_id)


async def current_user(
    request: Request,
    settings: SettingsDep,
    services: ServicesDep,
    bearer: Annotated[str | None, Depends(_bearer)],
) -> User:
    """The user of this request, from the bearer token or else the session cookie; 401 otherwise.

    The token's signature and expiry are checked on every request; the user row is read from the
    store only when ``services.user_cache`` has no fresh copy for this token.
    """
    token = bearer or request.cookies.get(settings.auth.cookie_name)
    if not token:
        raise _unauthenticated("no bearer token or session cookie")
    now = services.clock()
    try:
        claims = verify_token(settings.secret, token, now=now)
    except InvalidToken as exc:
        raise _unauthenticated(str(exc)) from None
    cache = services.user_cache
    user = cache.get(claims.user_id, token, now=now)
    if user is None:
        generation = cache.generation
        user = await run_in_threadpool(_load_user, services, claims.user_id)
        if user is None or not user.active:
            raise _unauthenticated("user unknown or disabled")
        cache.put(user, token, now=now, generation=generation)
    return user


async def request_user(request: Request, bearer: Annotated[str | None, Depends(_bearer)]) -> User:
    """``current_user`` as the routes' dependency, with the settings and services of the request's app."""
    return await current_user(request, request.app.state.settings, request.app.state.services, bearer)


CurrentUser = Annotated[User, Depends(request_user)]


def require(permission: Permission) -> Any:
    """A dependency giving the current user if his role allows ``permission``; 403 otherwise.

    Use as ``user: Annotated[User, require(Permission.X)]`` or in ``dependencies=[require(...)]``.
    """

    async def check(user: CurrentUser) -> User:
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
