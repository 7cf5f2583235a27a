"""GET /health: recommendations DB, main DB (through the FDW) and Redis, each reported."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Literal

import asyncpg
import msgspec
from litestar import Response, get
from litestar.di import NamedDependency

from service.cache import Cache
from service.clients import Clients
from service.db import fetch_row
from service.models import Check, HealthReport

log = logging.getLogger("service.health")
CHECK_TIMEOUT_S = 2.0


class MainProbe(msgspec.Struct, kw_only=True):
    """api.health: whether the main database answered through the FDW, how fast, or its error."""

    main_reachable: bool
    main_latency_ms: float | None
    main_error: str | None


async def _check_databases(pool: asyncpg.Pool) -> tuple[Check, Check]:
    started = time.perf_counter()
    try:
        probe = await asyncio.wait_for(fetch_row(pool, MainProbe, "health"), CHECK_TIMEOUT_S)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as error:
        log.warning("health.recs_db_down", extra={"error": repr(error)})
        return Check(status="down"), Check(status="down")
    recs = Check(status="up", latency_ms=round((time.perf_counter() - started) * 1000, 2))
    if not probe.main_reachable:
        log.warning("health.main_db_down", extra={"error": probe.main_error})
    main = Check(status="up" if probe.main_reachable else "down", latency_ms=probe.main_latency_ms)
    return recs, main


async def _check_redis(cache: Cache) -> Check:
    started = time.perf_counter()
    if not await cache.ping():
        return Check(status="down")
    return Check(status="up", latency_ms=round((time.perf_counter() - started) * 1000, 2))


@get("/health", tags=["operations"], summary="Service health (no auth)", cache=False, security=[{}])
async def health(clients: NamedDependency[Clients]) -> Response[HealthReport]:
    """Report each dependency; 200 while recommendations can be served, 503 when they cannot."""
    (recs, main), redis_check = await asyncio.gather(
        _check_databases(clients.pool), _check_redis(clients.cache)
    )
    status: Literal["ok", "degraded", "down"]
    if recs.status == "down":
        status = "down"
    elif main.status == "down" or redis_check.status == "down":
        status = "degraded"
    else:
        status = "ok"
    report = HealthReport(
        status=status,
        checks={"recommendations_db": recs, "main_db": main, "redis": redis_check},
    )
    return Response(report, status_code=503 if status == "down" else 200)
