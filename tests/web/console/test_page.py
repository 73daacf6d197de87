"""Pages as data: who sees which page, the sidebar and the home page."""

from __future__ import annotations

from waterline.domain.users import Permission, Role, User
from waterline.web.console.page import Page, home_page, navigation, visible_pages

DESK = Page("/console/desk", "t.desk", Permission.CALLS_HANDLE, roles=frozenset({Role.AGENT}), order=10)
BOARD = Page("/console/board", "t.board", Permission.ORDERS_DISPATCH, section="s.dispatch", order=20)
USERS = Page("/console/users", "t.users", Permission.USERS_MANAGE, section="s.admin", order=90)
AUDIT = Page("/console/audit", "t.audit", Permission.USERS_READ, section="s.admin", order=80)
ALL = (USERS, BOARD, DESK, AUDIT)


def user(role: Role, active: bool = True) -> User:
    return User(id=1, username=role.value, role=role, active=active)


def test_a_page_is_for_the_roles_allowed_its_permission_within_its_roles() -> None:
    assert DESK.visible_to(user(Role.AGENT))
    # the dispatcher's role inherits calls.handle, but the desktop is narrowed to agents
    assert not DESK.visible_to(user(Role.DISPATCHER))
    assert BOARD.visible_to(user(Role.DISPATCHER))
    assert not BOARD.visible_to(user(Role.AGENT))
    assert USERS.visible_to(user(Role.OWNER)) and not USERS.visible_to(user(Role.MANAGER))
    assert not BOARD.visible_to(user(Role.OWNER, active=False))


def test_navigation_groups_the_visible_pages_in_order() -> None:
    nav = navigation(ALL, user(Role.OWNER))
    assert [(s.title, [p.path for p in s.pages]) for s in nav] == [
        ("s.dispatch", ["/console/board"]),
        ("s.admin", ["/console/audit", "/console/users"]),
    ]
    assert [p.path for p in visible_pages(ALL, user(Role.COURIER))] == []


def test_home_is_the_first_visible_page() -> None:
    assert home_page(ALL, user(Role.AGENT)) == DESK
    assert home_page(ALL, user(Role.MANAGER)) == BOARD
    assert home_page(ALL, user(Role.COURIER)) is None
