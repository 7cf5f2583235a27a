"""The recommendation routes (POST /popular, /personalized, /similar) answered without Litestar's
per-request machinery when a request is plain: authorised, a JSON body that decodes as the route's
struct, within the size and page bounds, and answered without an error. Anything else goes through
Litestar unchanged (with the body read so far replayed), so every refusal and error is answered as
Litestar answers it; an error of the page itself is raised again by the route's before_request
hook (validation.body_check), not computed twice."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Litestar
from litestar.types import (
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)

from service.auth import BasicAuthMiddleware
from service.clients import STATE_KEY, Clients
from service.logs import REQUEST_ID_BYTES, REQUEST_STARTED_KEY, RequestLogMiddleware, request_id
from service.recommendations import Page
from service.validation import FAST_PATH_ERROR

_JSON_CONTENT_TYPE = b"application/json"


@dataclass(frozen=True)
class FastRoute:
    """A route the fast path answers: its body's struct (a PageOptions) and the function that
    gives the page of a valid body (the one the route's Litestar handler calls)."""

    body: type[Any]
    page: Callable[[Clients, Any, float], Awaitable[Page]]


@dataclass(frozen=True)
class _Route:
    decoder: msgspec.json.Decoder[Any]
    page: Callable[[Clients, Any, float], Awaitable[Page]]


class ServiceApp(Litestar):
    """The service's Litestar app, with the fast path in front of its routing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fast_routes: dict[str, _Route] = {}  # none until use_fast_path
        self.fast_answers = 0  # requests the fast path answered itself (the rest went to Litestar)

    def use_fast_path(
        self, routes: dict[str, FastRoute], request_log: RequestLogMiddleware, auth: BasicAuthMiddleware,
        body_limit: int, cors: bool,
    ) -> None:  # fmt: skip
        """Answer POSTs to these paths on the fast path, counting and logging them with request_log,
        authorising them with auth, taking bodies of at most body_limit bytes (and no request with
        an Origin header when cors: Litestar adds the CORS headers)."""
        self._fast_routes = {path: _Route(msgspec.json.Decoder(r.body), r.page) for path, r in routes.items()}
        self._request_log = request_log
        self._auth = auth
        self._body_limit = body_limit
        self._cors = cors

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """A POST to a fast route goes to the fast path; everything else to Litestar."""
        if scope["type"] == "http" and scope["method"] == "POST":
            route = self._fast_routes.get(scope["path"])
            if route is not None:
                await self._fast(route, scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    async def _litestar(
        self, scope: Scope, receive: Receive, send: Send, received: list[ReceiveMessage]
    ) -> None:
        """Hand the request to Litestar, the messages already received first."""
        pending = deque(received)

        async def replay() -> ReceiveMessage:
            return pending.popleft() if pending else await receive()

        await Litestar.__call__(self, scope, replay, send)

    async def _fast(self, route: _Route, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        scope.setdefault("state", {})[REQUEST_STARTED_KEY] = started  # its log's time, if handed on
        authorization: str | None = None
        content_type = b""
        plain = True
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-type":
                content_type = value
            elif name == b"origin" and self._cors:
                plain = False
        path = scope["path"]
        if not (
            plain
            and content_type.startswith(_JSON_CONTENT_TYPE)
            and self._auth.allows(authorization, path)[0]
        ):
            await self._litestar(scope, receive, send, [])
            return
        received: list[ReceiveMessage] = []
        body = b""
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request":  # the client left: Litestar's answer to that
                await self._litestar(scope, receive, send, received)
                return
            body += message.get("body", b"")
            if len(body) > self._body_limit:
                await self._litestar(scope, receive, send, received)
                return
            if not message.get("more_body", False):
                break
        clients: Clients = self.state[STATE_KEY]
        try:
            data = route.decoder.decode(body)
        except (msgspec.DecodeError, RecursionError):  # Litestar names every bad field
            data = None
        limit = None if data is None else data.pagination.limit
        if data is None or (limit is not None and limit > clients.settings.max_page_size):
            await self._litestar(scope, receive, send, received)
            return
        the_request_id = request_id(scope)
        try:
            page = await route.page(clients, data, started)
        except Exception as error:
            scope["state"][FAST_PATH_ERROR] = error
            await self._litestar(scope, receive, send, received)
            return
        headers = [
            (b"content-type", _JSON_CONTENT_TYPE),
            (b"content-length", b"%d" % len(page.body)),
            (REQUEST_ID_BYTES, the_request_id.encode("latin-1")),
        ]
        status = 200
        self.fast_answers += 1
        try:
            start: HTTPResponseStartEvent = {
                "type": "http.response.start",
                "status": status,
                "headers": headers,
            }
            await send(start)
            end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": page.body, "more_body": False}
            await send(end)
        finally:
            self._request_log.record(the_request_id, "POST", path, path, status, started, page.algorithm)
