"""The web console: server-rendered page shells (Jinja2) whose ES-module scripts call the REST API.

How to add a console page
=========================

1. A module ``pages/<group>.py`` (one per page group: ``agent``, ``dispatch``, ``admin``...)::

       PAGE = Page("/console/board", "nav.dispatch.board", Permission.ORDERS_DISPATCH,
                   section="nav.section.dispatch", order=20, icon="▦")
       PAGES = (PAGE,)
       router = APIRouter(include_in_schema=False)

       @router.get(PAGE.path)
       def board(request: Request, user: Annotated[User, page_user(PAGE)]) -> HTMLResponse:
           return render(request, "dispatch/board.html", user=user, page=PAGE)

   ``PAGES`` and ``router`` are found by name (nothing to register). ``page_user`` sends a browser
   without a session to ``/login`` and answers 403 to a role that may not see the page; the
   sidebar shows exactly the pages a user may see. ``roles=frozenset({Role.COURIER})`` narrows a
   page to some roles (the owner has every permission but no deliveries of his own).
   ``order`` sorts the sidebar; a user lands on the first page he may see.
2. A template ``templates/<group>/<page>.html``::

       {% extends "base.html" %}
       {% block content %}<section class="wl-card">…{{ t("dispatch.board.title") }}…</section>{% endblock %}
       {% block scripts %}
       <script type="module" src="{{ static('dispatch/board.js') }}"></script>
       {% endblock %}

3. A script ``static/<group>/<page>.js`` (an ES module, no build step)::

       import { api, t, el, toast } from "../console.js";
       const orders = await api("/api/orders", { query: { state: "placed" } });

   ``api`` sends the session cookie, returns the JSON, raises ``ApiError`` carrying the message
   in the user's language, and goes to the login page on 401. ``el(tag, attrs, ...children)``
   builds DOM without innerHTML. ``live(path, onMessage)`` opens a WebSocket that reconnects.
   npm packages (``web-vendor/package.json``, lockfile committed, ``npm ci`` by ``make venv``)
   are served at ``/console/vendor/<package>/...``: ``{{ vendor('echarts/dist/echarts.min.js') }}``.
   Only scripts from this server run (the pages' Content-Security-Policy forbids inline scripts).
4. Texts: ``messages/zh-CN/<group>.json`` and ``messages/en/<group>.json`` (flat ``key: text``,
   keys prefixed by the group, ``{name}`` placeholders); templates call ``t("key", name=...)``,
   scripts ``t("key", {name: ...})``. ``tests/web/console/test_messages.py`` fails when a key is
   missing in one language or used in a template or script without being defined.
5. Styles: ``static/console.css`` has the shared pieces — ``wl-card``, ``wl-toolbar``,
   ``wl-table``, ``wl-form``/``wl-field``, ``wl-btn`` (``primary``, ``danger``, ``ghost``),
   ``wl-tag`` (``ok``, ``warn``, ``bad``, ``info``), ``wl-kv``, ``wl-grid``, ``wl-empty``,
   ``wl-muted``; a group's own CSS goes in ``static/<group>/<page>.css`` (``{% block head %}``).
6. Tests: ``tests/web/console/`` (TestClient: status, redirects, 403) and ``tests/browser/``
   (``@pytest.mark.browser``; the ``console`` fixture serves the demo and ``console.page_as(role)``
   gives a logged-in Playwright page; ``console.screenshot(page, name)`` saves under
   ``test-output/screenshots/``).
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

import waterline.web.console.pages as pages_package
from waterline.config import Settings
from waterline.web.console import shell
from waterline.web.console.access import LoginRequired, PageForbidden
from waterline.web.console.page import discover
from waterline.web.console.render import STATIC_DIR, STATIC_URL, Console
from waterline.web.console.vendor import VENDOR_URL, vendor_dir


class RevalidatedFiles(StaticFiles):
    """Static files the browser must revalidate (a cheap 304), so an upgrade is seen at once."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        return response


def install_console(app: FastAPI, settings: Settings) -> None:
    """Serve the console on ``app``: pages, shell routes, scripts, styles and npm packages.

    Raises ConfigError when the npm packages are not installed.
    """
    vendor = vendor_dir(settings)
    modules = discover(pages_package)
    app.state.console = Console(pages=tuple(page for module in modules for page in module.pages))
    app.mount(STATIC_URL, RevalidatedFiles(directory=STATIC_DIR), name="console-static")
    app.mount(VENDOR_URL, RevalidatedFiles(directory=vendor), name="console-vendor")
    app.include_router(shell.router)
    for module in modules:
        if module.router is not None:
            app.include_router(module.router)
    app.add_exception_handler(LoginRequired, shell.login_redirect)
    app.add_exception_handler(PageForbidden, shell.forbidden_page)


__all__ = ["install_console"]
