"""Every failure as a JSON body with the right status; never a traceback."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

log = logging.getLogger("aligned.serve")


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    from fastapi.responses import JSONResponse

    body = {"error": message, **{k: v for k, v in extra.items() if v is not None}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(status_code=status, content=body, headers=headers)


def install_handlers(app: FastAPI) -> None:
    from fastapi.exceptions import RequestValidationError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from aligned_cli.online.catalog import UnknownNameError
    from aligned_cli.online.transform import RowsError
    from aligned_cli.serve.auth import ApiError

    async def invalid(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        problems = [
            {
                "field": ".".join(str(p) for p in item.get("loc", ()) if p != "body") or "body",
                "message": str(item.get("msg", "")),
            }
            for item in error.errors()
        ]
        first = problems[0] if problems else {"field": "body", "message": "invalid"}
        return error_response(
            422,
            f"invalid request: {first['field']}: {first['message']}",
            field=first["field"],
            detail=problems,
        )

    async def unknown(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, UnknownNameError)
        return error_response(404, error.message, name=error.name, hint=error.hint)

    async def bad_rows(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RowsError)
        return error_response(422, error.message, field=error.field)

    async def api_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiError)
        return error_response(error.status, error.message)

    async def redis_down(request: Request, error: Exception) -> JSONResponse:
        return error_response(503, f"the online store (Redis) is unreachable: {error}")

    async def internal(request: Request, error: Exception) -> JSONResponse:
        log.exception("internal error on %s", request.url.path)
        return error_response(500, f"internal error: {type(error).__name__}")

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(UnknownNameError, unknown)
    app.add_exception_handler(RowsError, bad_rows)
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RedisConnectionError, redis_down)
    app.add_exception_handler(RedisTimeoutError, redis_down)
    app.add_exception_handler(Exception, internal)
