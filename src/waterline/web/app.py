"""The web app factory: ``create_app(settings, services) -> FastAPI``."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import pkgutil
from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI
from fastapi.concurrency import run_in_threadpool

import waterline
import waterline.web.routes as routes_package
from waterline.config import Settings
from waterline.web.audit import AuditMiddleware, AuditTrail
from waterline.web.console import install_console
from waterline.web.deps import AppServices
from waterline.web.docs import install_docs
from waterline.web.errors import install_error_handlers

_log = logging.getLogger(__name__)


# Route modules matched first: FastAPI tries the included routers one by one, and an order placement
# or a screen-pop lookup went through twenty others before reaching its own (15% of its instructions).
HOT_ROUTES = ("orders", "customers")


def discover_routers() -> list[APIRouter]:
    """The ``router`` of every module in ``waterline.web.routes``: ``HOT_ROUTES`` first, then in
    module-name order (routers have prefixes of their own, so the order changes no answer)."""
    found: list[APIRouter] = []
    modules = pkgutil.iter_modules(routes_package.__path__)
    rank = {name: index for index, name in enumerate(HOT_ROUTES)}
    for info in sorted(modules, key=lambda m: (rank.get(m.name, len(rank)), m.name)):
        module = importlib.import_module(f"{routes_package.__name__}.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            found.append(router)
    return found


def create_app(settings: Settings, services: AppServices) -> FastAPI:
    """Build the FastAPI app; ``settings`` must already carry a usable secret (``with_secret``)."""
    # Fail at start, not on the first login, when the secret is missing.
    _ = settings.secret
    audit = AuditTrail(services.session_factory)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(job(), name=f"background-{index}")
            for index, job in enumerate(services.background)
        ]
        tasks.append(asyncio.create_task(audit.run(), name="audit-log"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    try:
                        await task
                    except Exception:
                        _log.exception("background task %s failed", task.get_name())
            # the last second of changes
            await run_in_threadpool(audit.flush)

    app = FastAPI(
        title="Waterline 送水热线",
        version=waterline.__version__,
        description="400 热线呼叫中心与桶装水配送平台 API / 400-hotline call centre and water delivery API",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app)
    app.state.settings = settings
    app.state.services = services
    app.state.audit = audit
    app.add_middleware(
        AuditMiddleware, trail=audit, secret=settings.secret, cookie_name=settings.auth.cookie_name,
        clock=services.clock,
    )
    install_error_handlers(app)
    for router in discover_routers():
        app.include_router(router)
    install_console(app, settings)
    return app
