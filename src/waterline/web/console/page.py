"""Console pages as data: what a page is, who may see it, and the navigation of a user.

Each module of :mod:`waterline.web.console.pages` declares ``PAGES`` (a tuple of :class:`Page`)
and a ``router``; :func:`discover` collects them. The server refuses a page to a user who may not
see it (:func:`waterline.web.console.access.page_user`), and the sidebar lists exactly the pages
he may see, so the two never disagree.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import ModuleType

from fastapi import APIRouter

from waterline.domain.users import Permission, Role, User


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the console.

    ``path`` is its URL; ``title`` and ``section`` are message keys; ``permission`` is what the
    user's role must allow; ``roles``, when given, narrows the page to those roles (the agent
    desktop is for agents only, though managers' roles inherit the agents' permissions);
    ``order`` sorts the sidebar and picks a user's home page (the first he may see).
    """

    path: str
    title: str
    permission: Permission
    section: str = "nav.section.work"
    roles: frozenset[Role] | None = None
    order: int = 100
    icon: str = "•"

    def visible_to(self, user: User) -> bool:
        """True when ``user`` may open this page."""
        return user.may(self.permission) and (self.roles is None or user.role in self.roles)


@dataclass(frozen=True, slots=True)
class NavSection:
    """A titled group of sidebar links."""

    title: str
    pages: tuple[Page, ...]


@dataclass(frozen=True, slots=True)
class PageModule:
    """What one module of the pages package contributes."""

    name: str
    pages: tuple[Page, ...]
    router: APIRouter | None


def discover(package: ModuleType) -> list[PageModule]:
    """``PAGES`` and ``router`` of every module in ``package``, in module-name order."""
    found: list[PageModule] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        pages = tuple(getattr(module, "PAGES", ()))
        router = getattr(module, "router", None)
        found.append(PageModule(info.name, pages, router if isinstance(router, APIRouter) else None))
    return found


def visible_pages(pages: Iterable[Page], user: User) -> list[Page]:
    """The pages ``user`` may see, in sidebar order."""
    return sorted((p for p in pages if p.visible_to(user)), key=lambda p: (p.order, p.path))


def navigation(pages: Iterable[Page], user: User) -> list[NavSection]:
    """The sidebar of ``user``: his pages grouped by section, sections in order of their first page."""
    sections: dict[str, list[Page]] = {}
    for page in visible_pages(pages, user):
        sections.setdefault(page.section, []).append(page)
    return [NavSection(title, tuple(items)) for title, items in sections.items()]


def home_page(pages: Sequence[Page], user: User) -> Page | None:
    """The page ``user`` lands on after logging in: the first he may see."""
    visible = visible_pages(pages, user)
    return visible[0] if visible else None
