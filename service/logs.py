"""Structured JSON logs: one event per line, a request id on every request, never credentials."""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import HTTPException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from service.telemetry import Telemetry

log = logging.getLogger("service.http")
_STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}
REQUEST_ID_HEADER = "x-request-id"


class JsonFormatter(logging.Formatter):
    """Render a record and its `extra` fields as one JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        """One line of JSON: time, level, logger, event, then the extra fields."""
        payload: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and key not in payload:
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(level: str) -> None:
    """Send every logger's records as JSON lines to stderr at the configured level."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "litestar"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # uvicorn's access log repeats what the request middleware logs, without the request id.
    logging.getLogger("uvicorn.access").disabled = True


def request_id(scope: Scope) -> str:
    """This request's id: kept in the scope; the caller's X-Request-ID if sane, else a new one."""
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = uuid.uuid4().hex
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if 0 < len(candidate) <= 128 and candidate.isprintable():
                    state["request_id"] = candidate
                break
    return str(state["request_id"])


class RequestLogMiddleware(ASGIMiddleware):
    """Assigns a request id (echoed in X-Request-ID), logs route, status, duration and the algorithm
    a recommendation handler put in the request state, and counts the request in telemetry."""

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Time the request and log one `http.request` event when the response starts."""
        started = time.perf_counter()
        the_request_id = request_id(scope)
        status = 500

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = the_request_id
            await send(message)

        try:
            await next_app(scope, receive, send_with_request_id)
        except HTTPException as exc:  # raised by an inner middleware, answered by the app's handler
            status = exc.status_code
            raise
        finally:
            seconds = time.perf_counter() - started
            algorithm = scope["state"].get("algorithm")
            method = str(scope.get("method") or scope["type"])
            self.telemetry.observe_request(scope.get("path_template"), method, status, seconds, algorithm)
            log.info(
                "http.request",
                extra={
                    "request_id": the_request_id,
                    "method": method,
                    "route": scope.get("path_template") or scope["path"],
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "algorithm": algorithm,
                },
            )
