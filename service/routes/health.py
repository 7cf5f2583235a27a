"""GET /health: recommendations DB, main DB (through the FDW) and Redis, each reported."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Literal

import asyncpg
import msgspec
from litestar import HttpMethod, Response, route
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.types import Method

from service.cache import Cache
from service.clients import Clients
from service.db import CallTimedOut, fetch_row_within
from service.main_reads import MAIN_CANCEL_GRACE_S
from service.models import Check, HealthReport, ReplicaCheck

log = logging.getLogger("service.health")
# Each database check's budget. Above the FDW's 2 s connect timeout to main (libpq's least), so a
# main host that drops packets shows as main down, not as a recs DB that does not answer.
CHECK_TIMEOUT_S = 2.5


# Per worker: each dependency's last status, so a probe polled every few seconds logs an outage
# once when it starts (warning: health.<dependency>_down, or _unknown for main while the recs DB
# that reaches it fails) and once when it ends (info: health.<dependency>_up), not on every poll.
_last_status: dict[str, str] = {}


def _note(dependency: str, status: Literal["up", "down", "unknown"], error: str | None = None) -> None:
    previous = _last_status.get(dependency, "up")
    _last_status[dependency] = status
    if status == previous:
        return
    if status == "up":
        log.info(f"health.{dependency}_up")
    else:
        log.warning(f"health.{dependency}_{status}", extra={"error": error})


class RecsProbe(msgspec.Struct):
    """A row of api.data_versions: the recs DB answered."""

    name: str


class MainProbe(msgspec.Struct, kw_only=True):
    """api.health: whether the main database answered through the FDW, how fast, or its error."""

    main_reachable: bool
    main_latency_ms: float | None
    main_error: str | None


# What a database check may meet when the recs DB fails (asyncpg's InternalClientError: a connection
# lost mid-call).
DATABASE_FAILURES = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
    TimeoutError,
)


async def _check_recs(pool: asyncpg.Pool) -> Check:
    started = time.perf_counter()
    try:
        await fetch_row_within(pool, CHECK_TIMEOUT_S, RecsProbe, "data_versions")
    except DATABASE_FAILURES as error:
        _note("recs_db", "down", repr(error))
        return Check(status="down")
    _note("recs_db", "up")
    return Check(status="up", latency_ms=round((time.perf_counter() - started) * 1000, 2))


async def _check_main(pool: asyncpg.Pool, budget_s: float) -> Check:
    """Main through the FDW, on its own connection and budget: a hanging main is main down. A check
    given up on is cancelled and keeps its connection's link to main warm, as requests' reads do."""
    try:
        probe = await fetch_row_within(
            pool, budget_s, MainProbe, "health", cancel_grace_s=MAIN_CANCEL_GRACE_S
        )
    except CallTimedOut as error:
        _note("main_db", "down", str(error))
        return Check(status="down")
    except DATABASE_FAILURES as error:
        _note("main_db", "unknown", repr(error))  # the recs DB failed
        return Check(status="down")
    _note("main_db", "up" if probe.main_reachable else "down", probe.main_error)
    return Check(status="up" if probe.main_reachable else "down", latency_ms=probe.main_latency_ms)


async def _check_redis(cache: Cache) -> Check:
    started = time.perf_counter()
    if not await cache.ping():
        return Check(status="down")
    return Check(status="up", latency_ms=round((time.perf_counter() - started) * 1000, 2))


def _operation_id(handler: HTTPRouteHandler, method: Method, path: list[Any]) -> str:
    """getHealth, and headHealth for the HEAD a probe may send."""
    return "headHealth" if method == "HEAD" else "getHealth"


@route(
    "/health",
    http_method=[HttpMethod.GET, HttpMethod.HEAD],
    tags=["operations"],
    summary="Service health (no auth)",
    cache=False,
    security=[{}],
    operation_id=_operation_id,
)
async def health(clients: NamedDependency[Clients]) -> Response[HealthReport]:
    """Report each dependency, and each hot standby as the worker's last check saw it; 200 while
    recommendations can be served, 503 when they cannot (the primary is down). HEAD runs the same
    checks and answers the same head (the server sends no body)."""
    report = await health_report(clients)
    return Response(report, status_code=503 if report.status == "down" else 200)


async def health_report(clients: Clients) -> HealthReport:
    """Each dependency checked at once, the standbys as last checked, and the service's status they
    add up to (also on the dashboard). Callers asking while a check runs share its report, so
    overlapping probes never need more than the health pool's two connections."""
    report: HealthReport = await clients.health_checks.run("health", lambda: _checked(clients))
    return report


async def _checked(clients: Clients) -> HealthReport:
    # Main's budget: at least MAIN_READ_TIMEOUT_MS, which an operator raises for a main far away.
    main_budget_s = max(CHECK_TIMEOUT_S, clients.settings.main_read_timeout_ms / 1000)
    recs, main, redis_check = await asyncio.gather(
        _check_recs(clients.health_pool),
        _check_main(clients.health_pool, main_budget_s),
        _check_redis(clients.cache),
    )
    replicas = [
        ReplicaCheck(name=replica.name, status=replica.status, lag_ms=replica.lag_ms)
        for replica in clients.router.replicas
    ]
    status: Literal["ok", "degraded", "down"]
    if recs.status == "down":
        status = "down"
    elif main.status == "down" or redis_check.status == "down" or any(r.status != "up" for r in replicas):
        status = "degraded"  # a standby skipped: its reads go to the primary
    else:
        status = "ok"
    return HealthReport(
        status=status,
        checks={"recommendations_db": recs, "main_db": main, "redis": redis_check},
        replicas=replicas,
    )
