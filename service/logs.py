"""Structured JSON logs: one event per line, a request id on every request, never credentials."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import sys
import time
from collections import Counter
from typing import Any

from litestar.exceptions import HTTPException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from service.telemetry import Telemetry

log = logging.getLogger("service.http")
_STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}
REQUEST_ID_HEADER = "x-request-id"
REQUEST_ID_BYTES = REQUEST_ID_HEADER.encode()
# scope["state"] key: when the fast path began a request it then hands on to Litestar (perf_counter).
REQUEST_STARTED_KEY = "request_started"


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


# New request ids: 32 hex digits, a random prefix per process and a counter, unique without a call
# to the system's random source per request.
_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count(int.from_bytes(os.urandom(4), "big"))


def request_id(scope: Scope) -> str:
    """This request's id: kept in the scope; the caller's X-Request-ID if sane, else a new one."""
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = f"{_ID_PREFIX}{next(_ID_COUNTER) & 0xFFFFFFFFFFFFFFFF:016x}"
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if 0 < len(candidate) <= 128 and candidate.isprintable():
                    state["request_id"] = candidate
                break
    return str(state["request_id"])


class RequestSummary:
    """One `http.requests` line per interval_s for the requests a worker answered in it: how many,
    by route and by status, and their latency (p50, p99, max), instead of a line per request.

    The line is written by a timer the first request of an interval starts, so an idle worker
    writes nothing; interval_s 0 writes nothing here (every request then has its own line).
    """

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._routes: Counter[str] = Counter()
        self._statuses: Counter[int] = Counter()
        self._durations_ms: list[float] = []
        self._opened: float | None = None

    def add(self, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        if self._opened is None:
            self._opened = time.monotonic()
            try:
                asyncio.get_running_loop().call_later(self.interval_s, self.emit)
            except RuntimeError:  # no loop: the next request or the lifespan's end writes the line
                pass
        self._routes[route] += 1
        self._statuses[status] += 1
        self._durations_ms.append(seconds * 1000)

    def emit(self) -> None:
        """Write the line for the requests counted since the last one (nothing when there were none)."""
        if self._opened is None:
            return
        durations = sorted(self._durations_ms)
        count = len(durations)
        log.info(
            "http.requests",
            extra={
                "requests": count,
                "seconds": round(time.monotonic() - self._opened, 2),
                "routes": dict(self._routes.most_common()),
                "statuses": {str(status): n for status, n in sorted(self._statuses.items())},
                "p50_ms": round(durations[(count - 1) // 2], 2),
                "p99_ms": round(durations[max(0, -(-count * 99 // 100) - 1)], 2),
                "max_ms": round(durations[-1], 2),
            },
        )
        self._routes, self._statuses, self._durations_ms, self._opened = Counter(), Counter(), [], None


class RequestLogMiddleware(ASGIMiddleware):
    """Assigns a request id (echoed in X-Request-ID), counts the request in telemetry, and logs it.

    With a summary (REQUEST_LOG_INTERVAL_MS > 0), requests are counted into its `http.requests` line
    and only a request answered with a 5xx gets an `http.request` line of its own (every request
    does at DEBUG); without one, every request does: route, status, duration and the algorithm a
    recommendation handler put in the request state.
    """

    def __init__(self, telemetry: Telemetry, summary: RequestSummary | None = None) -> None:
        self.telemetry = telemetry
        self.summary = summary if summary is not None and summary.interval_s > 0 else None

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Time the request and log or count it when it is done (from when the fast path took it, for
        one it handed on to Litestar)."""
        started = scope.get("state", {}).get(REQUEST_STARTED_KEY) or time.perf_counter()
        the_request_id = request_id(scope)
        status = 500

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [pair for pair in message.get("headers", ()) if pair[0].lower() != REQUEST_ID_BYTES]
                headers.append((REQUEST_ID_BYTES, the_request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            await next_app(scope, receive, send_with_request_id)
        except HTTPException as exc:  # raised by an inner middleware, answered by the app's handler
            status = exc.status_code
            raise
        finally:
            method = str(scope.get("method") or scope["type"])
            route = scope.get("path_template")
            algorithm = scope["state"].get("algorithm")
            self.record(the_request_id, method, route, scope["path"], status, started, algorithm)

    def record(
        self, the_request_id: str, method: str, route: str | None, path: str, status: int, started: float,
        algorithm: str | None,
    ) -> None:  # fmt: skip
        """Count an answered request (started at perf_counter() `started`) in telemetry and the
        summary, and log it when it gets a line of its own; the fast path's requests too."""
        seconds = time.perf_counter() - started
        self.telemetry.observe_request(route, method, status, seconds, algorithm)
        if self.summary is not None:
            self.summary.add(f"{method} {route or 'unmatched'}", status, seconds)
        if self.summary is None or status >= 500 or log.isEnabledFor(logging.DEBUG):
            log.log(
                logging.INFO if self.summary is None or status >= 500 else logging.DEBUG,
                "http.request",
                extra={
                    "request_id": the_request_id,
                    "method": method,
                    "route": route or path,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "algorithm": algorithm,
                },
            )
