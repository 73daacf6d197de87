"""User administration: list (users.read), create and change (users.manage): active, password, role,
display name."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from waterline.adapters.db.users import UserRepository
from waterline.domain.errors import NotFound
from waterline.domain.users import Permission, Role, User
from waterline.web.deps import ServicesDep, SessionDep, SettingsDep, require
from waterline.web.errors import ApiError

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
    role: Role | None = None
    display_name: str | None = Field(default=None, max_length=100)


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
    manager: Annotated[User, require(Permission.USERS_MANAGE)],
    services: ServicesDep,
    session: SessionDep,
) -> UserOut:
    """Enable/disable a user, set a new password, another role or name. Nobody disables himself or
    changes his own role (409): the last owner could lock everyone out of user management."""
    repo = UserRepository(session, services.hasher)
    target = repo.get(user_id)
    if target is None:
        raise NotFound("user", user_id)
    new_role = body.role is not None and body.role != target.role
    if user_id == manager.id and (body.active is False or new_role):
        raise ApiError(409, "user.self_change", "不能停用自己或修改自己的角色",
                       "You cannot disable yourself or change your own role")
    now = datetime.fromtimestamp(services.clock(), UTC)
    if body.password is not None:
        repo.set_password(user_id, body.password, now=now)
    if body.active is not None:
        repo.set_active(user_id, body.active, now=now)
    if body.role is not None:
        repo.set_role(user_id, body.role, now=now)
    if body.display_name is not None:
        repo.set_display_name(user_id, body.display_name.strip(), now=now)
    session.commit()
    # A disabled user's (or old password's) cached login must not outlive this change.
    services.user_cache.invalidate(user_id)
    changed = repo.get(user_id)
    assert changed is not None
    return UserOut.of(changed)
