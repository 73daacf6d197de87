"""Error responses of the API: always JSON ``{"error": code, "message_zh": ..., "message_en": ...}``.

Domain errors (``WaterlineError`` subclasses) are mapped to HTTP statuses here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from waterline.adapters.db.users import UsernameTaken
from waterline.domain.errors import (
    Conflict,
    IllegalTransition,
    InvalidInput,
    NoStationAvailable,
    NotFound,
    TicketOverdraw,
    WaterlineError,
)
from waterline.domain.users import InvalidUser

# Most specific first: the first isinstance match wins.
STATUS_BY_ERROR: tuple[tuple[type[WaterlineError], int], ...] = (
    (NotFound, 404),
    (InvalidInput, 422),
    (IllegalTransition, 409),
    (TicketOverdraw, 409),
    (Conflict, 409),
    (NoStationAvailable, 409),
)
DEFAULT_DOMAIN_STATUS = 400

_HTTP_TEXT: Mapping[int, tuple[str, str]] = {
    400: ("请求无效", "Bad request"),
    401: ("未登录或登录已过期", "Not authenticated"),
    403: ("没有权限", "Forbidden"),
    404: ("未找到", "Not found"),
    405: ("不支持该请求方法", "Method not allowed"),
    409: ("数据冲突", "Conflict"),
    422: ("请求数据无效", "Invalid request"),
    500: ("服务器内部错误", "Internal server error"),
}


class ApiError(Exception):
    """An error a route raises on purpose, with its status and bilingual message."""

    def __init__(
        self,
        status: int,
        code: str,
        message_zh: str,
        message_en: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message_en)
        self.status = status
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.headers = dict(headers or {})


def error_body(code: str, message_zh: str, message_en: str, **extra: Any) -> dict[str, Any]:
    """The JSON body of every error response."""
    return {"error": code, "message_zh": message_zh, "message_en": message_en, **extra}


def status_for(error: WaterlineError) -> int:
    """The HTTP status of a domain error."""
    for error_type, status in STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return DEFAULT_DOMAIN_STATUS


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    # "body" / "query" prefixes say where, the rest is the field path the client knows.
    parts = [str(part) for part in loc]
    return ".".join(parts[1:] if len(parts) > 1 and parts[0] in ("body", "query", "path") else parts)


async def _on_api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        error_body(exc.code, exc.message_zh, exc.message_en), status_code=exc.status, headers=exc.headers
    )


async def _on_domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WaterlineError)
    return JSONResponse(error_body(exc.code, exc.message_zh, exc.message_en), status_code=status_for(exc))


async def _on_invalid_user(_request: Request, exc: Exception) -> JSONResponse:
    zh, _, en = str(exc).partition(" / ")
    return JSONResponse(error_body("user.invalid", zh, en or zh), status_code=422)


async def _on_username_taken(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UsernameTaken)
    return JSONResponse(
        error_body(
            "user.taken", f"用户名已存在：{exc.username}", f"Username already taken: {exc.username}"
        ),
        status_code=409,
    )


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [f"{_location(err.get('loc', ()))}: {err.get('msg', '')}" for err in exc.errors()]
    summary = "; ".join(problems)
    return JSONResponse(
        error_body(
            "validation",
            f"请求数据无效：{summary}",
            f"Invalid request: {summary}",
            details=jsonable_encoder(exc.errors(), exclude={"input", "ctx", "url"}),
        ),
        status_code=422,
    )


async def _on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    zh, en = _HTTP_TEXT.get(exc.status_code, ("请求失败", "Request failed"))
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail not in (en, "") else None
    if detail:
        en = f"{en}: {detail}"
    return JSONResponse(
        error_body(f"http_{exc.status_code}", zh, en), status_code=exc.status_code, headers=exc.headers
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register every error handler on ``app``."""
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(WaterlineError, _on_domain_error)
    app.add_exception_handler(InvalidUser, _on_invalid_user)
    app.add_exception_handler(UsernameTaken, _on_username_taken)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
