"""Rendering console pages: the Jinja2 environment, the shared context of every page, headers.

A page handler calls :func:`render` with its template and page; the template extends
``base.html`` (sidebar, header, the catalogue for the page's script) and names its ES module in
``page_script``. Everything user-facing goes through ``t(key, **params)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

import waterline
from waterline.domain.users import User
from waterline.web.console.messages import (
    LANGUAGE_COOKIE,
    LANGUAGES,
    load_catalogues,
    pick_language,
    translate,
)
from waterline.web.console.page import Page, navigation

TEMPLATES_DIR = Path(__file__).with_name("templates")
STATIC_DIR = Path(__file__).with_name("static")
STATIC_URL = "/console/static"

# Scripts only from this server (no inline script, no CDN); styles may be set by scripts (charts).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
PAGE_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@dataclass
class Console:
    """The console's pages, catalogues and templates; one per app, at ``app.state.console``."""

    pages: tuple[Page, ...]
    catalogues: dict[str, dict[str, str]] = field(default_factory=load_catalogues)
    templates: jinja2.Environment = field(
        default_factory=lambda: jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
    )


def console_of(request: Request) -> Console:
    """The console of the app serving ``request``."""
    console: Console = request.app.state.console
    return console


def request_language(request: Request) -> str:
    """The language this browser chose (zh-CN unless switched)."""
    return pick_language(request.cookies.get(LANGUAGE_COOKIE))


def static_url(path: str) -> str:
    """The URL of a file under ``static/``."""
    return f"{STATIC_URL}/{path}"


def render(
    request: Request,
    template: str,
    *,
    user: User | None,
    page: Page | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The HTML of ``template`` with the shared console context and the console's security headers.

    The shared context: ``t``, ``lang``, ``languages``, ``user``, ``nav``, ``page``, ``static``,
    ``vendor``, ``version`` and ``client`` (what the page's script gets: language, messages, user).
    """
    console = console_of(request)
    lang = request_language(request)
    catalogue = console.catalogues[lang]
    client: dict[str, Any] = {"lang": lang, "messages": catalogue, "user": None}
    if user is not None:
        client["user"] = {
            "id": user.id,
            "username": user.username,
            "display_name": user.display_name or user.username,
            "role": user.role.value,
        }
    client.update(context.pop("client", {}))
    html = console.templates.get_template(template).render(
        t=partial(translate, catalogue),
        lang=lang,
        languages=LANGUAGES,
        user=user,
        nav=navigation(console.pages, user) if user is not None else [],
        page=page,
        path=request.url.path,
        static=static_url,
        vendor=lambda p: f"/console/vendor/{p}",
        version=waterline.__version__,
        client=client,
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=dict(PAGE_HEADERS))
