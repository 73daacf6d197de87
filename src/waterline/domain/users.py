"""Users of the console and API, their roles, and what each role may do.

The permission table is the one place that says who may do what; routes ask
``allowed(role, Permission.X)`` (through the web layer's ``require``) instead of listing roles.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
MIN_PASSWORD_LENGTH = 8


class Role(StrEnum):
    """A user's role; one per user."""

    OWNER = "owner"
    MANAGER = "manager"
    DISPATCHER = "dispatcher"
    AGENT = "agent"
    COURIER = "courier"


class Permission(StrEnum):
    """Something a route does on behalf of a user; named ``resource.action``."""

    USERS_READ = "users.read"
    USERS_MANAGE = "users.manage"
    CUSTOMERS_READ = "customers.read"
    CUSTOMERS_WRITE = "customers.write"
    CUSTOMERS_IMPORT = "customers.import"
    PRODUCTS_READ = "products.read"
    PRODUCTS_WRITE = "products.write"
    STATIONS_READ = "stations.read"
    STATIONS_WRITE = "stations.write"
    COURIERS_READ = "couriers.read"
    COURIERS_WRITE = "couriers.write"
    ORDERS_READ = "orders.read"
    ORDERS_CREATE = "orders.create"
    ORDERS_DISPATCH = "orders.dispatch"
    ORDERS_TRANSITION = "orders.transition"
    ORDERS_CANCEL = "orders.cancel"
    # A courier's view: only the orders assigned to him, phones masked outside his active ones.
    DELIVERIES_OWN = "deliveries.own"
    TICKETS_READ = "tickets.read"
    TICKETS_SELL = "tickets.sell"
    BUCKETS_READ = "buckets.read"
    BUCKETS_WRITE = "buckets.write"
    SMS_READ = "sms.read"
    CALLS_HANDLE = "calls.handle"
    REPORTS_READ = "reports.read"
    SETTINGS_MANAGE = "settings.manage"
    RECORDINGS_READ = "recordings.read"
    PROMPTS_MANAGE = "prompts.manage"
    FLOWS_READ = "flows.read"
    # Editing and publishing flows and routing 400 numbers changes what every caller hears.
    FLOWS_MANAGE = "flows.manage"
    CALLS_READ = "calls.read"
    TASKS_HANDLE = "tasks.handle"
    COMPLAINTS_READ = "complaints.read"
    CALENDAR_MANAGE = "calendar.manage"
    # An agent's own state (log in, pause, log out); only users of role agent have a state, so the
    # route answers 403 to other roles that inherit the permission.
    AGENT_STATE_OWN = "agents.own_state"
    # Colleagues' states: agents see them too, to know whom a call can be transferred to.
    AGENTS_READ = "agents.read"
    # Anyone's state log and contacts; queue configuration and the queue log.
    AGENTS_SUPERVISE = "agents.supervise"
    AGENTS_MANAGE = "agents.manage"
    QUEUES_READ = "queues.read"
    # Changing queues (strategy, timeouts, overflow, members) changes how long callers wait.
    QUEUES_MANAGE = "queues.manage"
    # The audit log: who changed orders, customers, flows, users... (managers and the owner).
    AUDIT_READ = "audit.read"


_P = Permission

_AGENT = frozenset(
    {
        _P.CUSTOMERS_READ,
        _P.CUSTOMERS_WRITE,
        _P.PRODUCTS_READ,
        _P.STATIONS_READ,
        _P.COURIERS_READ,
        _P.ORDERS_READ,
        _P.ORDERS_CREATE,
        _P.ORDERS_CANCEL,
        _P.TICKETS_READ,
        _P.TICKETS_SELL,
        _P.BUCKETS_READ,
        _P.SMS_READ,
        _P.CALLS_HANDLE,
        _P.TASKS_HANDLE,
        _P.AGENT_STATE_OWN,
        _P.AGENTS_READ,
    }
)
_DISPATCHER = _AGENT | {
    _P.COURIERS_WRITE,
    _P.ORDERS_DISPATCH,
    _P.ORDERS_TRANSITION,
    _P.BUCKETS_WRITE,
    _P.RECORDINGS_READ,
    _P.CALLS_READ,
    _P.COMPLAINTS_READ,
    _P.AGENTS_SUPERVISE,
    _P.QUEUES_READ,
}
_MANAGER = _DISPATCHER | {
    _P.USERS_READ,
    _P.CUSTOMERS_IMPORT,
    _P.PRODUCTS_WRITE,
    _P.STATIONS_WRITE,
    _P.REPORTS_READ,
    _P.PROMPTS_MANAGE,
    _P.FLOWS_READ,
    _P.CALENDAR_MANAGE,
    _P.AGENTS_MANAGE,
    _P.QUEUES_MANAGE,
    _P.AUDIT_READ,
}
_COURIER = frozenset(
    {
        _P.DELIVERIES_OWN,
        _P.PRODUCTS_READ,
        _P.STATIONS_READ,
        # Transitions of his own orders only (delivering/delivered); routes check ownership.
        _P.ORDERS_TRANSITION,
    }
)

PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.MANAGER: frozenset(_MANAGER),
    Role.DISPATCHER: frozenset(_DISPATCHER),
    Role.AGENT: _AGENT,
    Role.COURIER: _COURIER,
}


def allowed(role: Role, permission: Permission) -> bool:
    """True when users of ``role`` may do ``permission``."""
    return permission in PERMISSIONS[role]


def roles_with(permission: Permission) -> tuple[Role, ...]:
    """The roles allowed ``permission``, in declaration order (for messages and docs)."""
    return tuple(role for role in Role if allowed(role, permission))


@dataclass(frozen=True, slots=True)
class User:
    """A person who logs into the console or the API (or a SIP phone, for agents)."""

    id: int
    username: str
    role: Role
    display_name: str = ""
    active: bool = True
    # The courier record this login belongs to (couriers only); set by the business store.
    courier_id: int | None = None

    def may(self, permission: Permission) -> bool:
        """True when this user is active and his role allows ``permission``."""
        return self.active and allowed(self.role, permission)


class InvalidUser(ValueError):
    """A username, password or role that cannot be accepted; the message is bilingual."""


def check_username(username: str) -> str:
    """Return ``username`` if it is 2–32 lowercase letters, digits, ``_ . -``; else raise InvalidUser."""
    if not USERNAME_PATTERN.match(username):
        raise InvalidUser(
            "用户名须为 2–32 位小写字母、数字或 _ . - / "
            f"username must be 2-32 lowercase letters, digits or _ . - (got {username!r})"
        )
    return username


def check_password(password: str) -> str:
    """Return ``password`` if it is long enough; else raise InvalidUser."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidUser(
            f"密码至少 {MIN_PASSWORD_LENGTH} 个字符 / "
            f"password must be at least {MIN_PASSWORD_LENGTH} characters"
        )
    return password


def parse_role(text: str) -> Role:
    """The role named ``text`` (case-insensitive); raise InvalidUser for unknown names."""
    try:
        return Role(text.strip().lower())
    except ValueError:
        names = ", ".join(role.value for role in Role)
        raise InvalidUser(
            f"未知角色 {text!r}，可选：{names} / unknown role {text!r}, one of: {names}"
        ) from None


def mask_phone(phone: str) -> str:
    """Hide the middle of a phone number (``13812345678`` → ``138****5678``) for restricted viewers."""
    digits = phone.strip()
    if len(digits) <= 7:
        return "*" * max(len(digits) - 2, 0) + digits[-2:]
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
