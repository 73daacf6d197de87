from __future__ import annotations

import waterline

from ..conftest import WebEnv


def test_health_needs_no_login(web: WebEnv) -> None:
    response = web.client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": waterline.__version__, "database": "ok"}
