"""``GET /api/health``: liveness and database reachability, without authentication."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

import waterline
from waterline.web.deps import SessionDep

router = APIRouter(prefix="/api", tags=["health"])


class Health(BaseModel):
    """Health of the web process."""

    status: Literal["ok"]
    version: str
    database: Literal["ok"]


@router.get("/health")
def health(session: SessionDep) -> Health:
    """Answer 200 when the app is up and the database answers a query."""
    session.execute(text("SELECT 1"))
    return Health(status="ok", version=waterline.__version__, database="ok")
