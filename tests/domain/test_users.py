from __future__ import annotations

import pytest

from waterline.domain.users import (
    PERMISSIONS,
    InvalidUser,
    Permission,
    Role,
    User,
    allowed,
    check_password,
    check_username,
    mask_phone,
    parse_role,
    roles_with,
)


def test_owner_may_do_everything() -> None:
    assert all(allowed(Role.OWNER, permission) for permission in Permission)


def test_order_creation_roles() -> None:
    assert roles_with(Permission.ORDERS_CREATE) == (Role.OWNER, Role.MANAGER, Role.DISPATCHER, Role.AGENT)


def test_courier_sees_only_own_deliveries() -> None:
    assert allowed(Role.COURIER, Permission.DELIVERIES_OWN)
    assert not allowed(Role.COURIER, Permission.ORDERS_READ)
    assert not allowed(Role.COURIER, Permission.CUSTOMERS_READ)


def test_only_owner_manages_users() -> None:
    assert roles_with(Permission.USERS_MANAGE) == (Role.OWNER,)


def test_call_flow_permissions() -> None:
    # flows change what every caller hears: the owner edits, supervisors read
    assert roles_with(Permission.FLOWS_MANAGE) == (Role.OWNER,)
    assert roles_with(Permission.FLOWS_READ) == (Role.OWNER, Role.MANAGER)
    assert roles_with(Permission.CALLS_READ) == (Role.OWNER, Role.MANAGER, Role.DISPATCHER)
    assert roles_with(Permission.TASKS_HANDLE) == (Role.OWNER, Role.MANAGER, Role.DISPATCHER, Role.AGENT)
    assert roles_with(Permission.CALENDAR_MANAGE) == (Role.OWNER, Role.MANAGER)


def test_roles_are_nested_from_agent_to_manager() -> None:
    assert PERMISSIONS[Role.AGENT] < PERMISSIONS[Role.DISPATCHER] < PERMISSIONS[Role.MANAGER]
    assert PERMISSIONS[Role.MANAGER] < PERMISSIONS[Role.OWNER]


def test_inactive_user_may_do_nothing() -> None:
    user = User(id=1, username="li", role=Role.OWNER, active=False)
    assert not user.may(Permission.ORDERS_READ)
    assert User(id=1, username="li", role=Role.AGENT).may(Permission.ORDERS_CREATE)


@pytest.mark.parametrize("name", ["ab", "agent_01", "wang.wei", "x-9"])
def test_good_usernames(name: str) -> None:
    assert check_username(name) == name


@pytest.mark.parametrize("name", ["", "a", "Admin", "张三", "a b", "-lead", "x" * 33])
def test_bad_usernames(name: str) -> None:
    with pytest.raises(InvalidUser, match="username"):
        check_username(name)


def test_password_length() -> None:
    assert check_password("12345678") == "12345678"
    with pytest.raises(InvalidUser, match="密码"):
        check_password("1234567")


def test_parse_role() -> None:
    assert parse_role(" Dispatcher ") is Role.DISPATCHER
    with pytest.raises(InvalidUser, match="unknown role"):
        parse_role("boss")


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("13812345678", "138****5678"), ("02988881234", "029****1234"), ("12345", "***45")],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_agent_and_queue_permissions() -> None:
    everyone_but_couriers = (Role.OWNER, Role.MANAGER, Role.DISPATCHER, Role.AGENT)
    assert roles_with(Permission.AGENTS_READ) == everyone_but_couriers
    assert roles_with(Permission.AGENT_STATE_OWN) == everyone_but_couriers  # the route admits agents only
    assert roles_with(Permission.AGENTS_SUPERVISE) == (Role.OWNER, Role.MANAGER, Role.DISPATCHER)
    assert roles_with(Permission.QUEUES_READ) == (Role.OWNER, Role.MANAGER, Role.DISPATCHER)
    assert roles_with(Permission.QUEUES_MANAGE) == (Role.OWNER, Role.MANAGER)
    assert roles_with(Permission.AGENTS_MANAGE) == (Role.OWNER, Role.MANAGER)
