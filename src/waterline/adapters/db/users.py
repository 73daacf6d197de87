"""The ``users`` table and its repository: argon2 password hashes and SIP digest credentials.

SIP phones authenticate with HTTP digest, which needs ``H(username:realm:password)`` on the server;
we keep those two digests (MD5 and SHA-256, RFC 8760) instead of the SIP password itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Integer,
    String,
    Table,
    func,
    select,
    true,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from waterline.adapters.db.metadata import metadata
from waterline.domain.users import Role, User, check_password, check_username

users_table = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(32), nullable=False, unique=True),
    Column("display_name", String(100), nullable=False, server_default=""),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("courier_id", Integer, nullable=True),
    Column("sip_realm", String(100), nullable=True),
    Column("sip_ha1_md5", String(32), nullable=True),
    Column("sip_ha1_sha256", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint(
        "role IN ('owner', 'manager', 'dispatcher', 'agent', 'courier')",
        name="role_known",
    ),
)


class UsernameTaken(Exception):
    """A user with this username exists already."""

    def __init__(self, username: str) -> None:
        super().__init__(f"用户名已存在 / username already taken: {username}")
        self.username = username


@dataclass(frozen=True, slots=True)
class SipCredentials:
    """What a SIP registrar needs to check a digest response for one user."""

    username: str
    realm: str
    ha1_md5: str
    ha1_sha256: str


def sip_ha1(username: str, realm: str, password: str, algorithm: str = "MD5") -> str:
    """``H(username:realm:password)`` of RFC 2617 / RFC 8760, hex, for ``MD5`` or ``SHA-256``."""
    data = f"{username}:{realm}:{password}".encode()
    if algorithm.upper() == "MD5":
        return hashlib.md5(data, usedforsecurity=False).hexdigest()
    if algorithm.upper() == "SHA-256":
        return hashlib.sha256(data).hexdigest()
    raise ValueError(f"unsupported digest algorithm {algorithm!r}")


def default_hasher() -> PasswordHasher:
    """The production argon2id hasher (argon2-cffi's RFC 9106 low-memory profile)."""
    return PasswordHasher()


class UserRepository:
    """Users stored in one SQLAlchemy session; the caller commits."""

    def __init__(self, session: Session, hasher: PasswordHasher | None = None) -> None:
        self.session = session
        self.hasher = hasher or default_hasher()

    def add(
        self,
        username: str,
        role: Role,
        password: str,
        *,
        now: datetime,
        display_name: str = "",
        sip_password: str | None = None,
        sip_realm: str = "waterline",
        courier_id: int | None = None,
    ) -> User:
        """Create a user; raise ``UsernameTaken`` or ``InvalidUser`` (bad name/password)."""
        check_username(username)
        check_password(password)
        if self.get_by_username(username) is not None:
            raise UsernameTaken(username)
        values: dict[str, Any] = {
            "username": username,
            "display_name": display_name,
            "role": role.value,
            "password_hash": self.hasher.hash(password),
            "active": True,
            "courier_id": courier_id,
            "created_at": now,
            "updated_at": now,
            **_sip_columns(username, sip_realm, sip_password),
        }
        new_id = self.session.execute(
            users_table.insert().values(**values).returning(users_table.c.id)
        ).scalar_one()
        return User(
            id=int(new_id),
            username=username,
            role=role,
            display_name=display_name,
            active=True,
            courier_id=courier_id,
        )

    def get(self, user_id: int) -> User | None:
        """The user with ``user_id``, or None."""
        row = self.session.execute(select(users_table).where(users_table.c.id == user_id)).mappings().first()
        return _to_user(row) if row else None

    def get_by_username(self, username: str) -> User | None:
        """The user called ``username``, or None."""
        row = (
            self.session.execute(select(users_table).where(users_table.c.username == username))
            .mappings()
            .first()
        )
        return _to_user(row) if row else None

    def list(self) -> list[User]:
        """All users, ordered by id."""
        rows = self.session.execute(select(users_table).order_by(users_table.c.id)).mappings()
        return [_to_user(row) for row in rows]

    def count(self) -> int:
        """How many users exist."""
        return int(self.session.execute(select(func.count()).select_from(users_table)).scalar_one())

    def authenticate(self, username: str, password: str, *, now: datetime) -> User | None:
        """The active user whose password matches, or None.

        Takes about as long for an unknown username as for a wrong password, so the response
        time does not tell which usernames exist.
        """
        row = (
            self.session.execute(select(users_table).where(users_table.c.username == username))
            .mappings()
            .first()
        )
        if row is None:
            self._burn_time(password)
            return None
        try:
            self.hasher.verify(row["password_hash"], password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if not row["active"]:
            return None
        if self.hasher.check_needs_rehash(row["password_hash"]):
            # Parameters were raised since this hash was made: upgrade it while we know the password.
            self._update(row["id"], now, password_hash=self.hasher.hash(password))
        return _to_user(row)

    def set_password(self, user_id: int, password: str, *, now: datetime) -> None:
        """Replace the login password of ``user_id``."""
        check_password(password)
        self._update(user_id, now, password_hash=self.hasher.hash(password))

    def set_sip_password(self, user_id: int, sip_password: str | None, *, realm: str, now: datetime) -> None:
        """Set (or with None, remove) the SIP phone password of ``user_id``."""
        user = self.get(user_id)
        if user is None:
            raise KeyError(user_id)
        self._update(user_id, now, **_sip_columns(user.username, realm, sip_password))

    def set_role(self, user_id: int, role: Role, *, now: datetime) -> None:
        """Give ``user_id`` another role (his next request is judged by it)."""
        self._update(user_id, now, role=role.value)

    def set_display_name(self, user_id: int, display_name: str, *, now: datetime) -> None:
        """Rename ``user_id`` as the console shows him."""
        self._update(user_id, now, display_name=display_name)

    def set_active(self, user_id: int, active: bool, *, now: datetime) -> None:
        """Enable or disable a user; disabled users cannot log in and their tokens stop working."""
        self._update(user_id, now, active=active)

    def sip_credentials(self, username: str) -> SipCredentials | None:
        """Digest credentials of an active user with a SIP password, or None."""
        row = (
            self.session.execute(select(users_table).where(users_table.c.username == username))
            .mappings()
            .first()
        )
        if row is None or not row["active"] or row["sip_ha1_md5"] is None:
            return None
        return SipCredentials(
            username=row["username"],
            realm=row["sip_realm"],
            ha1_md5=row["sip_ha1_md5"],
            ha1_sha256=row["sip_ha1_sha256"],
        )

    def _update(self, user_id: int, now: datetime, **values: Any) -> None:
        self.session.execute(
            update(users_table).where(users_table.c.id == user_id).values(updated_at=now, **values)
        )

    def _burn_time(self, password: str) -> None:
        try:
            self.hasher.verify(_dummy_hash(self.hasher), password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            pass


_DUMMY_HASHES: dict[tuple[int, int, int], str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = hasher.hash("waterline-no-such-user")
    return _DUMMY_HASHES[key]


def _sip_columns(username: str, realm: str, sip_password: str | None) -> dict[str, Any]:
    if sip_password is None:
        return {"sip_realm": None, "sip_ha1_md5": None, "sip_ha1_sha256": None}
    return {
        "sip_realm": realm,
        "sip_ha1_md5": sip_ha1(username, realm, sip_password, "MD5"),
        "sip_ha1_sha256": sip_ha1(username, realm, sip_password, "SHA-256"),
    }


def _to_user(row: RowMapping) -> User:
    return User(
        id=int(row["id"]),
        username=row["username"],
        role=Role(row["role"]),
        display_name=row["display_name"],
        active=bool(row["active"]),
        courier_id=row["courier_id"],
    )
