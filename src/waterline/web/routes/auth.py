"""Authentication: OAuth2 password tokens for the API, a session cookie for the console."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from waterline.adapters.db.users import UserRepository
from waterline.config import Settings
from waterline.domain.users import PERMISSIONS, User
from waterline.web.auth import issue_token
from waterline.web.deps import AppServices, CurrentUser, ServicesDep, SessionDep, SettingsDep
from waterline.web.errors import ApiError

router = APIRouter(prefix="/api/auth", tags=["auth"])


class Token(BaseModel):
    """An OAuth2 bearer token."""

    access_token: str
    token_type: str = "bearer"


class Credentials(BaseModel):
    """Username and password posted by the console's login form."""

    username: str
    password: str


class Me(BaseModel):
    """The logged-in user and what he may do."""

    id: int
    username: str
    display_name: str
    role: str
    permissions: list[str]


def _me(user: User) -> Me:
    return Me(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role.value,
        permissions=sorted(p.value for p in PERMISSIONS[user.role]),
    )


def _login(username: str, password: str, services: AppServices, session: SessionDep) -> User:
    now = services.clock()
    user = UserRepository(session, services.hasher).authenticate(
        username, password, now=datetime.fromtimestamp(now, UTC)
    )
    if user is None:
        raise ApiError(
            401,
            "auth.bad_credentials",
            "用户名或密码错误",
            "Wrong username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # authenticate() may have upgraded the password hash.
    session.commit()
    return user


def _token(settings: Settings, services: AppServices, user: User) -> str:
    return issue_token(
        settings.secret, user, now=services.clock(), ttl_seconds=settings.auth.token_ttl_seconds
    )


@router.post("/token")
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    settings: SettingsDep,
    services: ServicesDep,
    session: SessionDep,
) -> Token:
    """Exchange username and password (OAuth2 password form) for a bearer token."""
    user = _login(form.username, form.password, services, session)
    return Token(access_token=_token(settings, services, user))


@router.post("/login")
def login(
    credentials: Credentials,
    response: Response,
    settings: SettingsDep,
    services: ServicesDep,
    session: SessionDep,
) -> Me:
    """Log into the console: sets the HttpOnly session cookie and returns the user."""
    user = _login(credentials.username, credentials.password, services, session)
    response.set_cookie(
        settings.auth.cookie_name,
        _token(settings, services, user),
        max_age=settings.auth.token_ttl_seconds,
        httponly=True,
        # Strict: no cross-site request carries the session (CSRF defence for the console and its
        # WebSockets); a link into the console from elsewhere lands on the login page, then back.
        samesite="strict",
        secure=settings.auth.cookie_secure,
        path="/",
    )
    return _me(user)


@router.post("/logout", status_code=204)
def logout(response: Response, settings: SettingsDep) -> None:
    """Log out of the console: clears the session cookie."""
    response.delete_cookie(settings.auth.cookie_name, path="/")


@router.get("/me")
def me(user: CurrentUser) -> Me:
    """The current user, his role and his permissions."""
    return _me(user)
