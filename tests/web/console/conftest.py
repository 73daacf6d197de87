"""Fixtures of the console tests: the ``web`` app (tests/web/conftest.py) and a way to log in."""

from __future__ import annotations

from collections.abc import Callable

import pytest

# the password tests/web/conftest.py gives every user
PASSWORD = "password-123"


@pytest.fixture
def log_in(web: object) -> Callable[[str], None]:
    """``log_in(username)``: the console's login route, leaving the session cookie on ``web.client``."""

    def login(username: str) -> None:
        response = web.client.post(  # type: ignore[attr-defined]
            "/api/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text

    return login
