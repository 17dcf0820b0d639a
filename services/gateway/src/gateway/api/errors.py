"""Error answers: JSON ``{"detail": ...}`` with the status that says what went wrong."""

from __future__ import annotations

from collections.abc import Iterable

import structlog
from fastapi import APIRouter, Request, status
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

log = structlog.get_logger(__name__)


async def store_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("redis unavailable", error=str(exc))
    return JSONResponse(
        {"detail": str(exc)},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "1"},
    )


class AllowedMethods:
    """Every method each path accepts, across all the routes that share the path."""

    def __init__(self, routers: Iterable[APIRouter]) -> None:
        self._routes = [
            (route.path_regex, route.methods)
            for router in routers
            for route in router.routes
            if isinstance(route, APIRoute)
        ]

    def of(self, path: str) -> list[str]:
        return sorted({method for regex, methods in self._routes if regex.match(path) for method in methods})


async def http_error(request: Request, exc: Exception) -> Response:
    """FastAPI's answer, except that a 405 lists every method of the path in ``Allow``.

    The router fills ``Allow`` from the first route that matched the path only, so
    ``/symbols`` (GET and POST, two routes) would claim to allow GET alone.
    """
    assert isinstance(exc, HTTPException)
    if exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        allowed_methods: AllowedMethods = request.app.state.allowed_methods
        if allowed := allowed_methods.of(request.url.path):
            exc = HTTPException(
                exc.status_code, exc.detail, headers={**(exc.headers or {}), "Allow": ", ".join(allowed)}
            )
    return await http_exception_handler(request, exc)


async def invalid_request(request: Request, exc: Exception) -> Response:
    """FastAPI's 422, except that a body which is not JSON at all is a 400 (as documented).

    Not JSON: it does not parse, or it was sent as another media type (a form, plain text).
    """
    assert isinstance(exc, RequestValidationError)
    body_errors = [error for error in exc.errors() if tuple(error.get("loc", ()))[:1] == ("body",)]
    if body_errors:
        not_json = [error for error in body_errors if error.get("type") == "json_invalid"]
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if not_json:
            reason = not_json[0].get("ctx", {}).get("error", "")
            return _bad_request(f"the body is not valid JSON{': ' + reason if reason else ''}")
        if media_type and media_type != "application/json" and not media_type.endswith("+json"):
            return _bad_request(f"the body must be JSON (Content-Type: application/json), not {media_type}")
    return await request_validation_exception_handler(request, exc)


def _bad_request(detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status.HTTP_400_BAD_REQUEST)
