"""The audit log: who changed what, one entry per successful change made through the API.

Entries are facts written by the web edge after a change succeeded (``web.audit``); nothing in the
business core depends on them. ``summary`` is the request as sent, with secrets blanked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """``user_id`` (role ``role``) did ``method`` on ``path`` (route ``route``) at ``at``; the change
    concerned ``resource`` (``orders``, ``customers``, ``flows``...) and ``target`` (the path's ids)."""

    at: datetime
    user_id: int | None
    role: str
    method: str
    path: str
    route: str
    resource: str
    target: str
    status: int
    summary: str
    id: int | None = None
