"""GET /stats (what the service holds and how it is used) and GET /metrics (Prometheus)."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import msgspec
from litestar import Response, get
from litestar.di import NamedDependency

from service.auth import ADMIN_SECURITY
from service.clients import Clients
from service.db import call_api, fetch_rows
from service.models import METRICS_MEDIA_TYPE, JobStatus, OnlineRate, SequenceUsage, Stats
from service.telemetry import exposition

log = logging.getLogger("service.operations")
JOB_STATUS_TIMEOUT_S = 2.0


@get(
    "/stats", tags=["operations"], summary="Totals, freshness, cache and latency (all workers)",
    cache=False, operation_id="getStats", security=ADMIN_SECURITY,
)  # fmt: skip
async def stats(clients: NamedDependency[Clients]) -> Stats:
    """Main's totals (counted at each sync), derived rows (planner statistics), users with profiles
    and neighbours, every job's last run and next start; cache hit rate and requests with p50/p95
    latency per route and algorithm, shared by all workers through Redis (`telemetry_available`
    is false while Redis is down); the click- and like-through rates of the recorded pages per
    route, algorithm and experiment variant (recs.report_online_rates)."""
    return await collect_stats(clients)


async def collect_stats(clients: Clients) -> Stats:
    """What GET /stats returns: the database's part (api.stats), the online rates and the shared
    telemetry's."""
    database = (await call_api(clients.pool, "stats"))[0]["stats"]  # one jsonb object
    online = await fetch_rows(clients.pool, OnlineRate, "online_rates")
    shared = await clients.telemetry.summary()
    return msgspec.convert(
        database
        | {
            "telemetry_available": shared.available,
            "counting_since": shared.counting_since,
            "cache": shared.cache,
            "cache_by_kind": shared.cache_by_kind,
            "requests": shared.requests,
            "online": online,
        },
        Stats,
    )


@get(
    "/metrics", tags=["operations"], summary="Prometheus metrics (all workers)", cache=False,
    media_type=METRICS_MEDIA_TYPE, operation_id="getMetrics", security=ADMIN_SECURITY,
)  # fmt: skip
async def metrics(clients: NamedDependency[Clients]) -> Response[bytes]:
    """Prometheus text format: requests and latency per route and per algorithm, cache lookups, pool
    connections (summed over this server's workers) and each job's last run, duration, failures
    and next start, and the online click- and like-through counts per route, algorithm and variant,
    read from the recs DB at scrape time (`mysanta_job_status_up` 0 if they cannot be)."""
    clients.telemetry.update_pool_gauges()
    clients.telemetry.write_series()
    jobs: list[JobStatus] | None
    sequences: list[SequenceUsage] | None
    online: list[OnlineRate] | None
    try:
        jobs, sequences, online = await asyncio.wait_for(
            asyncio.gather(
                fetch_rows(clients.pool, JobStatus, "job_status"),
                fetch_rows(clients.pool, SequenceUsage, "sequence_usage"),
                fetch_rows(clients.pool, OnlineRate, "online_rates"),
            ),
            JOB_STATUS_TIMEOUT_S,
        )
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as error:
        log.warning("metrics.job_status_unavailable", extra={"error": repr(error)})  # fmt: skip
        jobs, sequences, online = None, None, None
    return Response(exposition(jobs, sequences, online), media_type=METRICS_MEDIA_TYPE)
