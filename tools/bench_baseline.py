"""A bare Litestar app with one JSON endpoint: the framework ceiling `make bench` compares with."""

from __future__ import annotations

from litestar import Litestar, get


@get("/ping", sync_to_thread=False)
def ping() -> dict[str, str]:
    """The smallest useful response: no middleware, no database, no cache."""
    return {"status": "ok"}


app = Litestar(route_handlers=[ping], openapi_config=None)
