"""User administration: list (users.read), create and change (users.manage)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from waterline.adapters.db.users import UserRepository
from waterline.domain.errors import NotFound
from waterline.domain.users import Permission, Role, User
from waterline.web.deps import ServicesDep, SessionDep, SettingsDep, require

router = APIRouter(prefix="/api/users", tags=["users"])


class UserOut(BaseModel):
    """A user as the API shows it (never the password hash)."""

    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    courier_id: int | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        """The API view of ``user``."""
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            active=user.active,
            courier_id=user.courier_id,
        )


class UserIn(BaseModel):
    """A new user."""

    username: str
    password: str
    role: Role
    display_name: str = Field(default="", max_length=100)
    sip_password: str | None = None
    courier_id: int | None = None


class UserPatch(BaseModel):
    """Changes to a user; absent fields stay as they are."""

    active: bool | None = None
    password: str | None = None


@router.get("")
def list_users(
    _user: Annotated[User, require(Permission.USERS_READ)], services: ServicesDep, session: SessionDep
) -> list[UserOut]:
    """All users."""
    return [UserOut.of(u) for u in UserRepository(session, services.hasher).list()]


@router.post("", status_code=201)
def create_user(
    body: UserIn,
    _user: Annotated[User, require(Permission.USERS_MANAGE)],
    settings: SettingsDep,
    services: ServicesDep,
    session: SessionDep,
) -> UserOut:
    """Create a user (409 when the username is taken, 422 for a bad name or short password)."""
    created = UserRepository(session, services.hasher).add(
        body.username,
        body.role,
        body.password,
        now=datetime.fromtimestamp(services.clock(), UTC),
        display_name=body.display_name,
        sip_password=body.sip_password,
        sip_realm=settings.sip.realm,
        courier_id=body.courier_id,
    )
    session.commit()
    return UserOut.of(created)


@router.patch("/{user_id}")
def change_user(
    user_id: int,
    body: UserPatch,
    _user: Annotated[User, require(Permission.USERS_MANAGE)],
    services: ServicesDep,
    session: SessionDep,
) -> UserOut:
    """Enable/disable a user or set a new password."""
    repo = UserRepository(session, services.hasher)
    if repo.get(user_id) is None:
        raise NotFound("user", user_id)
    now = datetime.fromtimestamp(services.clock(), UTC)
    if body.password is not None:
        repo.set_password(user_id, body.password, now=now)
    if body.active is not None:
        repo.set_active(user_id, body.active, now=now)
    session.commit()
    # A disabled user's (or old password's) cached login must not outlive this change.
    services.user_cache.invalidate(user_id)
    changed = repo.get(user_id)
    assert changed is not None
    return UserOut.of(changed)
