"""The audit trail of the API: every successful change (POST, PUT, PATCH, DELETE under ``/api/``,
logins aside) is recorded with who made it, the route, the ids in the path and the request body with
secrets blanked.

:class:`AuditMiddleware` sees each request at the edge, so every route — today's and those added
later — is covered without code of its own. Entries are buffered by :class:`AuditTrail` and written
in one transaction a second (``run``), and at shutdown (``flush``): an order placement costs no extra
database commit. The price: a crash may lose the last second of entries (never the changes).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from waterline.adapters.db.audit import AuditLogRepository
from waterline.domain.audit import AuditEntry
from waterline.web.auth import InvalidToken, verify_token

__all__ = ["AuditMiddleware", "AuditTrail", "redact", "summarise"]

_log = logging.getLogger(__name__)

CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOT_AUDITED = ("/api/auth/",)
MAX_SUMMARY = 2000
MAX_CAPTURE = 64 * 1024
MAX_PENDING = 10_000
SECRET_KEY = re.compile(r"password|secret|token|credential", re.IGNORECASE)
BLANKED = "***"


def redact(value: Any) -> Any:
    """``value`` with the values of every key naming a secret (password, token...) blanked."""
    if isinstance(value, dict):
        return {k: BLANKED if SECRET_KEY.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def summarise(body: bytes, content_type: str) -> str:
    """What the request carried, for the log: JSON with secrets blanked, else its kind and size."""
    if not body:
        return ""
    if "json" in content_type:
        try:
            text = json.dumps(redact(json.loads(body)), ensure_ascii=False, separators=(",", ":"))
        except ValueError:
            text = f"(invalid JSON, {len(body)} bytes)"
    else:
        kind = content_type.split(";")[0].strip() or "unknown"
        text = f"({kind}, {len(body)} bytes)"
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"


class AuditTrail:
    """Entries waiting to be written, and the writer. Safe to use from threads and the event loop."""

    def __init__(self, session_factory: sessionmaker[Session], *, interval: float = 1.0) -> None:
        self.session_factory = session_factory
        self.interval = interval
        self._pending: list[AuditEntry] = []
        self._lock = threading.Lock()
        self.dropped = 0

    def record(self, entry: AuditEntry) -> None:
        """Queue ``entry`` for the next write (the oldest are dropped past ``MAX_PENDING``)."""
        with self._lock:
            self._pending.append(entry)
            if len(self._pending) > MAX_PENDING:
                self.dropped += len(self._pending) - MAX_PENDING
                del self._pending[: len(self._pending) - MAX_PENDING]

    def flush(self) -> int:
        """Write every queued entry in one transaction (blocking); the count written. A failed write
        keeps the entries for the next try."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return 0
        try:
            with self.session_factory() as session:
                AuditLogRepository(session).add_all(batch)
                session.commit()
        except Exception:
            _log.exception("audit log: %d entries not written, kept for the next try", len(batch))
            with self._lock:
                self._pending[:0] = batch
            return 0
        return len(batch)

    async def run(self) -> None:
        """Write the queue every ``interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.interval)
            if self._pending:
                await run_in_threadpool(self.flush)


class AuditMiddleware:
    """ASGI middleware recording successful API changes into ``trail``.

    The user is read from the request's bearer token or session cookie (signature checked with
    ``secret``); a request without a valid one records ``user_id`` None.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        trail: AuditTrail,
        secret: str,
        cookie_name: str,
        clock: Callable[[], float],
    ) -> None:
        self.app = app
        self.trail = trail
        self.secret = secret
        self.cookie_name = cookie_name
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] not in CHANGES
            or not path.startswith("/api/")
            or path.startswith(NOT_AUDITED)
        ):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        status = 0

        async def tee() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) < MAX_CAPTURE:
                body.extend(message.get("body", b"")[: MAX_CAPTURE - len(body)])
            return message

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, tee, watch)
        if 200 <= status < 300:
            self.trail.record(self._entry(scope, bytes(body), status))

    def _entry(self, scope: Scope, body: bytes, status: int) -> AuditEntry:
        connection = HTTPConnection(scope)
        user_id: int | None = None
        role = ""
        authorization = connection.headers.get("authorization", "")
        token = authorization[7:] if authorization.lower().startswith("bearer ") else None
        token = token or connection.cookies.get(self.cookie_name)
        now = self.clock()
        if token:
            try:
                claims = verify_token(self.secret, token, now=now)
                user_id, role = claims.user_id, claims.role
            except InvalidToken:
                pass
        route = scope.get("route")
        template = str(getattr(route, "path", "") or scope["path"])
        params: dict[str, Any] = scope.get("path_params") or {}
        parts = scope["path"].split("/")
        return AuditEntry(
            at=datetime.fromtimestamp(now, UTC),
            user_id=user_id,
            role=role,
            method=scope["method"],
            path=scope["path"][:300],
            route=template[:300],
            resource=(parts[2] if len(parts) > 2 else "")[:40],
            target=",".join(f"{k}={v}" for k, v in params.items())[:200],
            status=status,
            summary=summarise(body, connection.headers.get("content-type", "")),
        )
