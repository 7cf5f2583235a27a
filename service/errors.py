"""problem+json error bodies and the one table that maps exceptions and SQLSTATEs to HTTP."""

from __future__ import annotations

import logging
import re
from typing import Any

import asyncpg
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from service.logs import REQUEST_ID_HEADER, request_id
from service.throttled_log import ThrottledLog

log = logging.getLogger("service.errors")
# A database that fails fails every request: one line per kind of failure per worker every 10 s,
# with how many requests it stands for, not one per request.
_database_unavailable = ThrottledLog(log, "database.unavailable", "requests", interval_s=10)
_database_error = ThrottledLog(log, "database.error", "requests", interval_s=10)
PROBLEM_MEDIA_TYPE = "application/problem+json"
RETRY_AFTER_SECONDS = "5"

# SQLSTATE (exact code, or 2-character class) -> (HTTP status, title). Raised by api.* functions
# with USING ERRCODE so a Rails developer gets a 4xx that says what to change.
SQLSTATE_TO_HTTP: dict[str, tuple[int, str]] = {
    "22023": (422, "Invalid parameter value"),  # invalid_parameter_value
    "22P02": (422, "Invalid input syntax"),  # invalid_text_representation
    "22003": (422, "Number out of range"),  # numeric_value_out_of_range
    "22007": (422, "Invalid date"),  # invalid_datetime_format
    "22008": (422, "Date out of range"),  # datetime_field_overflow
    "P0002": (404, "Not found"),  # no_data_found
    "57014": (503, "Query timed out"),  # query_canceled (statement_timeout)
    "08": (503, "Database unavailable"),  # connection exceptions
    "57P": (503, "Database unavailable"),  # admin shutdown, crash shutdown, cannot connect now
    # The recs DB refusing the app's connection (a password rotated on the server before the app's
    # URL, a pg_hba.conf or LOGIN change): it cannot be reached by this app, a 503 like an outage.
    "28": (503, "Database unavailable"),  # invalid_authorization_specification, invalid_password
    "53": (503, "Database overloaded"),  # insufficient resources
    # A write on a read-only recs DB (a standby after a failover, default_transaction_read_only).
    "25006": (503, "Database read-only"),  # read_only_sql_transaction
    # A transaction the database rolled back to resolve a conflict: the same call succeeds when
    # retried.
    "40P01": (503, "Database conflict"),  # deadlock_detected
    "40001": (503, "Database conflict"),  # serialization_failure
}


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    request: Request[Any, Any, Any] | None = None,
) -> Response[dict[str, Any]]:
    """An RFC 9457 problem+json response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    headers = dict(headers or {})
    if request is not None:
        body["instance"] = request.url.path
        body["request_id"] = headers[REQUEST_ID_HEADER] = request_id(request.scope)
    return Response(content=body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


# Litestar's own error for a required query, path, header or cookie parameter that is absent: it
# carries no field list, and its text repeats the whole URL.
_MISSING_PARAMETER = re.compile(r"Missing required (query|path|header|cookie) parameter '([^']+)' for path ")


def _validation_errors(exc: ValidationException) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            errors.append(
                {"field": item.get("key"), "message": item.get("message"), "in": item.get("source")}
            )
    missing = _MISSING_PARAMETER.match(str(exc.detail))
    if not errors and missing:
        errors.append({"field": missing.group(2), "message": "is required", "in": missing.group(1)})
    return errors


def _describe_validation(exc: ValidationException, errors: list[dict[str, Any]]) -> str:
    named = [f"{error['field']}: {error['message']}" for error in errors if error.get("field")]
    if named:
        return "; ".join(named)
    plain = [str(error["message"]) for error in errors if error.get("message")]
    return "; ".join(plain) or str(exc.detail)


def handle_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """Request body/parameter validation failures: 422 naming each bad field."""
    errors = _validation_errors(exc)
    detail = _describe_validation(exc, errors)
    return problem_response(422, "Invalid request", detail, errors=errors, request=request)


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's HTTP exceptions (401, 404, 405, 413 ...) as problem+json."""
    title = {
        401: "Authentication required",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        503: "Service unavailable",
    }.get(exc.status_code, "Request failed")
    if "path_template" not in request.scope:  # no route matched: the request middleware never ran
        log.info(
            "http.request",
            extra={
                "request_id": request_id(request.scope),
                "method": request.method,
                "route": request.url.path,
                "status": exc.status_code,
                "duration_ms": None,
            },
        )
    return problem_response(exc.status_code, title, str(exc.detail), headers=exc.headers, request=request)


def http_status_for_sqlstate(sqlstate: str | None) -> tuple[int, str] | None:
    """The HTTP status for a database error code, by exact code first, then by class."""
    if not sqlstate:
        return None
    return (
        SQLSTATE_TO_HTTP.get(sqlstate)
        or SQLSTATE_TO_HTTP.get(sqlstate[:3])
        or SQLSTATE_TO_HTTP.get(sqlstate[:2])
    )


def handle_postgres(request: Request[Any, Any, Any], exc: asyncpg.PostgresError) -> Response[Any]:
    """Errors raised by the database: mapped 4xx/503 with the function's message, else 500."""
    mapped = http_status_for_sqlstate(getattr(exc, "sqlstate", None))
    if mapped is None:
        return handle_unexpected(request, exc)
    status, title = mapped
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if status == 503 else None
    if status >= 500:
        sqlstate = getattr(exc, "sqlstate", None)
        _database_error.record(str(sqlstate), sqlstate=sqlstate, error=str(exc))
        return problem_response(
            status, title, "The recommendations database cannot answer now.", headers=headers, request=request
        )
    detail = str(exc.args[0]) if exc.args else title
    # A function that checks an argument names it in the error's column field (USING COLUMN = ...).
    field = getattr(exc, "column_name", None)
    errors = [{"field": field, "message": detail, "in": _location(request, field)}] if field else None
    return problem_response(status, title, detail, errors=errors, headers=headers, request=request)


def _location(request: Request[Any, Any, Any], field: str) -> str:
    """Where the request carried the argument a function named: its path, its query, else its body."""
    if field in request.path_params:
        return "path"
    return "query" if field in request.query_params else "body"


def reset_throttled_logs() -> None:
    """Start the database failure lines afresh (create_app: a new app has logged nothing yet)."""
    _database_unavailable.reset()
    _database_error.reset()


def handle_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The database cannot be reached: fail fast with 503 and a Retry-After. A connection the
    server refused (db.DatabaseRefusedConnection) is titled by its SQLSTATE where that maps to a
    503 (53300, no connection slots left: "Database overloaded")."""
    sqlstate = getattr(exc, "sqlstate", None)  # a refused connection's (db.DatabaseRefusedConnection)
    _database_unavailable.record(sqlstate or "", sqlstate=sqlstate, error=repr(exc))
    mapped = http_status_for_sqlstate(sqlstate)
    return problem_response(
        503,
        mapped[1] if mapped and mapped[0] == 503 else "Database unavailable",
        "The recommendations database cannot be reached; retry shortly.",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
        request=request,
    )


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Anything else: 500 without internals; the detail goes to the log."""
    log.exception("request.failed", extra={"error": repr(exc)})
    return problem_response(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "Internal server error",
        "The server failed to answer this request; it has been logged.",
        request=request,
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ValidationException: handle_validation,
    HTTPException: handle_http,
    asyncpg.PostgresError: handle_postgres,
    asyncpg.exceptions.InterfaceError: handle_unavailable,
    # asyncpg's protocol state broken by a connection lost mid-call (as when a backend is terminated).
    asyncpg.exceptions.InternalClientError: handle_unavailable,
    ConnectionError: handle_unavailable,
    OSError: handle_unavailable,
    TimeoutError: handle_unavailable,
    Exception: handle_unexpected,
}
