"""msgspec request and response structs shared by the routes, with OpenAPI examples."""

from __future__ import annotations

from typing import Literal

import msgspec

CheckStatus = Literal["up", "down"]


class Check(msgspec.Struct, kw_only=True):
    """The state of one dependency as /health saw it."""

    status: CheckStatus
    latency_ms: float | None = None


class HealthReport(msgspec.Struct, kw_only=True):
    """200 while recommendations can be served (ok or degraded), 503 when they cannot (down)."""

    status: Literal["ok", "degraded", "down"]
    checks: dict[str, Check]
