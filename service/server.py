"""The HTTP protocol uvicorn serves the app with: its httptools protocol plus a deadline per request
and a bound on the request head, which uvicorn lacks (a slow or endless head would hold a connection),
and the body of a request offering an upgrade it declines (h2c), over a transport that sends a
response's head and body in one write."""

from __future__ import annotations

import asyncio
import functools
import http
import json
import logging
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http import httptools_impl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from service.errors import RETRY_AFTER_SECONDS
from service.logs import request_id
from service.settings import load_settings

log = logging.getLogger("service.http")


class HeadTooLarge(Exception):
    """The request line and headers passed HTTP_MAX_HEADER_BYTES."""


@functools.cache
def _limits() -> tuple[int, int]:
    """HTTP_REQUEST_TIMEOUT_S and HTTP_MAX_HEADER_BYTES of this worker (the environment `serve` checked)."""
    settings = load_settings()
    return settings.http_request_timeout_s, settings.http_max_header_bytes


class CoalescingTransport:
    """A connection's transport whose writes within one event-loop step leave as one: a response's
    head and body (two ASGI messages, written as they come) take one send call, not two. Everything
    else is the transport's own; closing sends what is pending first."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        """Queue data; the first write of a step schedules the send at the step's end."""
        if not self._pending:
            self._loop.call_soon(self._send)
        self._pending.append(bytes(data))

    def _send(self) -> None:
        if self._pending:
            data = b"".join(self._pending) if len(self._pending) > 1 else self._pending[0]
            self._pending = []
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        """Send what is pending, then close."""
        self._send()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


async def _overloaded(scope: Any, receive: Any, send: Any) -> None:
    """The answer beyond HTTP_LIMIT_CONCURRENCY, in place of uvicorn's text/plain one: a 503 like
    every other (problem+json, Retry-After, the request's id), so clients back off the same way."""
    body = json.dumps({
        "type": "about:blank", "title": "Service Unavailable", "status": 503,
        "detail": "Too many requests in progress; retry shortly.",
    }).encode()  # fmt: skip
    headers = [
        (b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
        (b"retry-after", RETRY_AFTER_SECONDS.encode()),
        (b"x-request-id", request_id(scope).encode("latin-1")),
    ]  # fmt: skip
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# uvicorn's protocol answers a request past the concurrency limit with the ASGI app it names
# service_unavailable (it never reaches ours): this module's protocol is the one the service serves with.
setattr(httptools_impl, "service_unavailable", _overloaded)  # noqa: B010 - a module global, not exported


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, bounded in time and size where uvicorn 0.x is not.

    - Idle: a new connection gets uvicorn's keep-alive timeout (HTTP_KEEP_ALIVE_TIMEOUT_S) before
      its first byte too; uvicorn arms it only after a response.
    - A request, from its first byte to its last (line, headers, body), must arrive within
      HTTP_REQUEST_TIMEOUT_S: else 408 and close while nothing reached the app, or close (the app
      sees the client go) while the app reads the body. A slow handler is not limited by it.
    - The request line and headers may take HTTP_MAX_HEADER_BYTES: beyond, 431 and close, before
      any application code runs; a head still arriving is counted as it comes.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.request_timeout_s, self.max_head_bytes = _limits()
        self._deadline: asyncio.TimerHandle | None = None
        self._receiving = False  # from a request's first byte to its last
        self._head_bytes: int | None = None  # bytes of the request head so far; None: not in a head
        self._head_too_large = False
        self._replaying_head = False  # _decline_upgrade feeds the new parser a head of its own

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start as uvicorn does (over a CoalescingTransport), and give the connection until the
        keep-alive timeout to start a request."""
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the deadline, then as uvicorn does."""
        self._stop_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Start the deadline at a request's first byte, parse, and bound a head still arriving."""
        if self._deadline is None and not self._handling():
            self._start_deadline()  # a request begins (or bytes that are none, which must stop too)
        self._unset_keepalive_if_required()  # then as uvicorn parses, but for an upgrade it declines
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            message = "Invalid HTTP request received."
            self.logger.warning(message)
            self.send_400_response(message)
        except httptools.HttpParserUpgrade as upgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._decline_upgrade(data[upgrade.args[0] :])
        if self._head_bytes is not None and not self.transport.is_closing():
            # Counted per read: the read that began the head counts whole (only a pipelining client,
            # whose previous request ended within that read, is overcounted).
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                self._refuse_head()

    def _decline_upgrade(self, rest: bytes) -> None:
        """Serve a request that offers an upgrade the service does not take (Upgrade: h2c, which Java's
        HttpClient and curl --http2 send) as plain HTTP/1.1, its body included (RFC 9110, 7.8).

        llhttp ends such a request at its head and stops, leaving the body unparsed: uvicorn ran the
        app with an empty body (a 422 for every body of a Java client). A new parser reads on from
        where it stopped, after a head of the request's own framing (Content-Length or
        Transfer-Encoding) that no callback sees, so the body reaches the request already running
        and the connection's next requests parse as usual."""
        framing = b"".join(
            name + b": " + value + b"\r\n"
            for name, value in self.headers
            if name in (b"content-length", b"transfer-encoding")
        )
        self.parser = httptools.HttpRequestParser(self)
        self._replaying_head = True
        try:
            self.parser.feed_data(b"POST / HTTP/1.1\r\n" + framing + b"\r\n")
        except httptools.HttpParserError:  # a framing llhttp refuses (Transfer-Encoding: gzip alone)
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
            return
        finally:
            self._replaying_head = False
        if rest:
            self.data_received(rest)

    def on_message_begin(self) -> None:
        """A request's first byte was parsed: its head begins, under the deadline."""
        if self._replaying_head:
            return
        super().on_message_begin()
        self._receiving, self._head_bytes = True, 0
        if self._deadline is None:
            self._start_deadline()

    def on_url(self, url: bytes) -> None:
        """Part of the request's target (not of the head _decline_upgrade replays)."""
        if not self._replaying_head:
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        """A header (not one of the head _decline_upgrade replays)."""
        if not self._replaying_head:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        """Refuse a head over the bound (it may have come in one read), else hand it to uvicorn."""
        if self._replaying_head:
            return
        self._head_bytes = None
        head_bytes = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if head_bytes > self.max_head_bytes:
            self._head_too_large = True
            raise HeadTooLarge  # the parser stops; uvicorn answers through send_400_response
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The whole request is in: no deadline while the app handles it. (llhttp calls this at the end
        of the head of a request offering an upgrade: its body, if any, is still to come.)"""
        if self.parser.should_upgrade() and not self._should_upgrade():
            return
        self._receiving = False
        self._stop_deadline()
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request the parser stopped at: 431 when the head was too large, else a
        400 problem (not HTTP, as httptools read it), as the app's errors are."""
        if self._head_too_large:
            self._refuse_head()
        else:
            self._answer_and_close(http.HTTPStatus.BAD_REQUEST, msg)

    def _handling(self) -> bool:
        """A request arrived whole and the app has not finished its response."""
        return not self._receiving and self.cycle is not None and not self.cycle.response_complete

    def _start_deadline(self) -> None:
        self._deadline = self.loop.call_later(self.request_timeout_s, self._deadline_passed)

    def _stop_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _deadline_passed(self) -> None:
        """The request did not arrive whole in time: 408 if the app has seen nothing of it, else close."""
        self._deadline = None
        if self.transport.is_closing() or self._handling():
            return
        head_pending = self._head_bytes is not None or not self._receiving
        earlier_response_pending = (
            self.cycle is not None and not self.cycle.response_complete
            if head_pending
            else bool(self.pipeline)
        )
        if earlier_response_pending:  # a pipelined request waits its turn (uvicorn stopped reading)
            self._start_deadline()
            return
        log.warning(
            "http.request_timeout",
            extra={"client": self._client_text(), "stage": "head" if head_pending else "body"},
        )
        if head_pending:
            self._answer_and_close(http.HTTPStatus.REQUEST_TIMEOUT, "The request did not arrive in time.")
        else:
            self.transport.close()  # the app is waiting for the body: it sees the client disconnect

    def _refuse_head(self) -> None:
        log.warning(
            "http.head_too_large", extra={"client": self._client_text(), "limit": self.max_head_bytes}
        )
        self._answer_and_close(
            http.HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
            f"The request line and headers may take {self.max_head_bytes} bytes.",
        )

    def _answer_and_close(self, status: http.HTTPStatus, message: str) -> None:
        """A problem+json answer written by the protocol itself (no application code runs), then close."""
        body = json.dumps(
            {"type": "about:blank", "title": status.phrase, "status": status.value, "detail": message}
        ).encode()
        head = (
            f"HTTP/1.1 {status.value} {status.phrase}\r\ncontent-type: application/problem+json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        self.transport.close()

    def _client_text(self) -> str | None:
        return f"{self.client[0]}:{self.client[1]}" if self.client else None
