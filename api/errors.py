"""Every failure as one JSON shape: ``{"error": {"code": ..., "message": ..., "field": ...}}``.

`LedgerError`s map to HTTP by class (one handler): bad input 422, access denied 403, not found 404,
conflict 409, a limit used up 429 (with ``Retry-After``), chain unavailable 503, a transaction that
failed on chain 502. Their ``code`` is the library's (``item_already_registered``,
``not_owner_nor_admin``...), which is derived from the contract error's name and therefore stable.
Request validation errors use the same shape, with codes such as ``missing_field``,
``invalid_type``, ``invalid_address``, ``batch_too_large``; malformed path parameters (ids,
addresses, hashes) and unparseable JSON are 400, the rest 422.
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic_core.core_schema import ErrorType
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.errors import (
    AccessDenied,
    ChainUnavailableError,
    ConfigurationError,
    Conflict,
    ContractError,
    InputError,
    InvalidArgument,
    LedgerError,
    NotFound,
    RateLimited,
    TransactionError,
)

__all__ = [
    "ApiError",
    "error_content",
    "error_headers",
    "install_error_handlers",
    "ledger_error_response",
    "ledger_error_status",
]

log = logging.getLogger(__name__)

_STATUS_BY_CLASS: tuple[tuple[type[LedgerError], int], ...] = (
    (InputError, 422),
    (AccessDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (InvalidArgument, 422),
    (ContractError, 409),  # a custom error this library does not know: the contract refused
    (RateLimited, 429),
    (ChainUnavailableError, 503),
    (ConfigurationError, 503),
    (TransactionError, 502),
)

# pydantic's own error types; anything else was raised by our validators with its own code.
_PYDANTIC_TYPES = frozenset(typing.get_args(ErrorType))
_VALIDATION_CODES: Mapping[str, str] = {
    "missing": "missing_field",
    "extra_forbidden": "unknown_field",
    "json_invalid": "malformed_json",
    "enum": "invalid_choice",
    "literal_error": "invalid_choice",
    "too_long": "too_long",
    "too_short": "too_short",
    "string_too_long": "too_long",
    "string_too_short": "too_short",
    "greater_than": "out_of_range",
    "greater_than_equal": "out_of_range",
    "less_than": "out_of_range",
    "less_than_equal": "out_of_range",
}


class ApiError(Exception):
    """An error the gateway itself reports (authentication, roles...)."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})


def error_content(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def ledger_error_status(exc: LedgerError) -> int:
    for cls, status in _STATUS_BY_CLASS:
        if isinstance(exc, cls):
            return status
    return 502


def error_headers(exc: LedgerError) -> dict[str, str]:
    """Headers that go with ``exc``'s response: ``Retry-After`` when a limit is used up."""
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after)}
    return {}


def ledger_error_response(exc: LedgerError) -> tuple[int, dict[str, Any]]:
    """The status code and JSON body for ``exc``."""
    status = ledger_error_status(exc)
    field = exc.field if isinstance(exc, InputError) else None
    return status, error_content(exc.code, str(exc) or exc.code, field)


def _render_loc(loc: Sequence[Any]) -> str | None:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts) or None


def validation_error_response(errors: Sequence[Any]) -> tuple[int, dict[str, Any]]:
    """Status and body for the first of pydantic's validation ``errors``."""
    if not errors:
        return 422, error_content("invalid_request", "the request is invalid")
    first = errors[0]
    kind = str(first.get("type", "value_error"))
    loc = tuple(first.get("loc", ()))
    where = str(loc[0]) if loc else "body"
    field = None if kind == "json_invalid" else _render_loc(loc[1:])
    if kind not in _PYDANTIC_TYPES:
        code = kind
    elif kind in _VALIDATION_CODES:
        code = _VALIDATION_CODES[kind]
    elif kind.endswith(("_type", "_parsing")) or kind == "is_instance_of":
        code = "invalid_type"
    else:
        code = "invalid_value"
    if kind == "missing" and field is None:
        code, message = "missing_body", "a JSON request body is required"
    elif kind == "missing":
        message = f"{field} is required"
    elif kind == "json_invalid":
        detail = (first.get("ctx") or {}).get("error")
        message = f"the body is not valid JSON{f': {detail}' if detail else ''}"
    else:
        message = f"{field}: {first.get('msg')}" if field else str(first.get("msg"))
    status = 400 if where == "path" or kind == "json_invalid" else 422
    return status, error_content(code, message, field)


async def _ledger_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LedgerError)
    status, content = ledger_error_response(exc)
    if status >= 500:
        log.warning("%s %s failed: %s", request.method, request.url.path, exc)
    return JSONResponse(content, status_code=status, headers=error_headers(exc))


async def _api_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        error_content(exc.code, exc.message, exc.field),
        status_code=exc.status_code,
        headers=exc.headers or None,
    )


async def _validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    status, content = validation_error_response(exc.errors())
    return JSONResponse(content, status_code=status)


_HTTP_CODES: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def _allowed_methods(request: Request) -> list[str]:
    """The methods the OpenAPI document declares for the request's path.

    Starlette answers 405 with the ``Allow`` header of the one route that matched, but
    ``GET /keys`` and ``POST /keys`` are two routes, so the header must come from the document;
    a literal path (``/items/batch``) wins over a template (``/items/{item_id}``).
    """
    app = request.app
    document: dict[str, Any] = app.openapi() if isinstance(app, FastAPI) else {}
    segments = request.url.path.rstrip("/").split("/")
    best: tuple[int, list[str]] | None = None
    for template, operations in document.get("paths", {}).items():
        parts = template.rstrip("/").split("/")
        if len(parts) != len(segments):
            continue
        params = 0
        for part, segment in zip(parts, segments, strict=True):
            if part.startswith("{") and part.endswith("}"):
                params += 1
            elif part != segment:
                break
        else:
            methods = sorted(m.upper() for m in operations if m in _HTTP_METHODS)
            if best is None or params < best[0]:
                best = (params, methods)
    return best[1] if best is not None else []


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = str(exc.detail) if exc.detail else code.replace("_", " ")
    headers = dict(exc.headers or {})
    if exc.status_code == 404 and message == "Not Found":
        message = f"no such endpoint: {request.method} {request.url.path}"
    if exc.status_code == 405:
        allowed = _allowed_methods(request)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
            message = f"{request.method} is not allowed here; use {' or '.join(allowed)}"
    return JSONResponse(error_content(code, message), status_code=exc.status_code, headers=headers)


async def _unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    # A bug: keep the JSON shape, log the traceback, and reveal nothing internal.
    log.exception("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        error_content("internal_error", "the gateway failed unexpectedly"), status_code=500
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LedgerError, _ledger_error_handler)
    app.add_exception_handler(ApiError, _api_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(Exception, _unexpected_error_handler)
