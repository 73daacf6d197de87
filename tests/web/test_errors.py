"""Domain errors and HTTP errors become the bilingual JSON error body with the right status."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from waterline.domain.errors import (
    Conflict,
    IllegalTransition,
    InvalidInput,
    NotFound,
    TicketOverdraw,
    WaterlineError,
)
from waterline.web.errors import ApiError, install_error_handlers, status_for


def _app(error: Exception) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        raise error

    @app.get("/typed")
    def typed(n: int) -> int:
        return n

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFound("order", 42), 404),
        (InvalidInput("invalid_input", detail="x"), 422),
        (IllegalTransition("invalid_input", detail="x"), 409),
        (TicketOverdraw("ticket.overdraw", needed=3, balance=1), 409),
        (Conflict("conflict", detail="x"), 409),
        (WaterlineError("invalid_input", detail="x"), 400),
    ],
)
def test_domain_errors_map_to_status(error: WaterlineError, status: int) -> None:
    assert status_for(error) == status
    response = _app(error).get("/boom")
    assert response.status_code == status
    assert response.json() == {
        "error": error.code,
        "message_zh": error.message_zh,
        "message_en": error.message_en,
    }


def test_ticket_overdraw_message_is_bilingual() -> None:
    body = _app(TicketOverdraw("ticket.overdraw", needed=3, balance=1)).get("/boom").json()
    assert "水票" in body["message_zh"] and "tickets" in body["message_en"]


def test_api_error_keeps_headers() -> None:
    response = _app(ApiError(401, "x", "中", "en", headers={"WWW-Authenticate": "Bearer"})).get("/boom")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_query_validation_error_is_bilingual() -> None:
    response = _app(RuntimeError()).get("/typed", params={"n": "many"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation"
    assert body["message_en"].startswith("Invalid request: n:")
    assert body["details"][0]["loc"] == ["query", "n"]


def test_unknown_route_is_bilingual_404() -> None:
    response = _app(RuntimeError()).get("/nowhere")
    assert response.status_code == 404
    assert response.json()["error"] == "http_404"
    assert response.json()["message_zh"] == "未找到"
