"""GET /stats (what the service holds and how it is used) and GET /metrics (Prometheus)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import asyncpg
import msgspec
from litestar import Response, get
from litestar.datastructures import State
from prometheus_client import CONTENT_TYPE_LATEST

from service.db import call_api
from service.errors import problem_responses
from service.routes.admin import JobStatus
from service.telemetry import CacheSummary, LatencySummary, exposition

log = logging.getLogger("service.operations")
JOB_STATUS_TIMEOUT_S = 2.0


class MainTotals(msgspec.Struct, kw_only=True):
    """The main database's totals as the last sync counted them (null before the first sync)."""

    public_presents: int | None = None
    private_presents: int | None = None
    likes: int | None = None
    clicks: int | None = None


class UserCounts(msgspec.Struct, kw_only=True):
    """Users with synced demographics, with a preference profile, and with neighbours."""

    with_demographics: int
    with_profile: int
    with_neighbors: int | None


class Stats(msgspec.Struct, kw_only=True):
    """What the service holds, how fresh it is, and how it is used (every worker counted)."""

    main_totals: MainTotals
    main_totals_counted_at: dt.datetime | None
    derived_rows: dict[str, int | None]
    users: UserCounts
    jobs: list[JobStatus]
    telemetry_available: bool
    counting_since: dt.datetime | None
    cache: CacheSummary
    cache_by_kind: dict[str, CacheSummary]
    requests: list[LatencySummary]


@get(
    "/stats", tags=["operations"], summary="Totals, freshness, cache and latency (all workers)",
    cache=False, responses=problem_responses(),
)  # fmt: skip
async def stats(state: State) -> Stats:
    """Main's totals (counted at each sync), derived rows (planner statistics), users with profiles
    and neighbours, every job's last run and next start; cache hit rate and requests with p50/p95
    latency per route and algorithm, shared by all workers through Redis (`telemetry_available`
    is false while Redis is down)."""
    rows = await call_api(state.pool, "stats")
    database = rows[0]["stats"]
    shared = await state.telemetry.summary()
    return Stats(
        main_totals=msgspec.convert(database["main_totals"], MainTotals),
        main_totals_counted_at=msgspec.convert(database["main_totals_counted_at"], dt.datetime | None),
        derived_rows=database["derived_rows"],
        users=msgspec.convert(database["users"], UserCounts),
        jobs=msgspec.convert(database["jobs"], list[JobStatus]),
        telemetry_available=shared.available,
        counting_since=shared.counting_since,
        cache=shared.cache,
        cache_by_kind=shared.cache_by_kind,
        requests=shared.requests,
    )


@get(
    "/metrics", tags=["operations"], summary="Prometheus metrics (all workers)", cache=False,
    media_type=CONTENT_TYPE_LATEST, responses=problem_responses(),
)  # fmt: skip
async def metrics(state: State) -> Response[bytes]:
    """Prometheus text format: requests and latency per route and per algorithm, cache lookups, pool
    connections (summed over this server's workers) and each job's last run, duration, failures
    and next start read from the recs DB at scrape time (`mysanta_job_status_up` 0 if it cannot be)."""
    state.telemetry.update_pool_gauges()
    job_rows: list[dict[str, Any]] | None
    try:
        records = await asyncio.wait_for(call_api(state.pool, "job_status"), JOB_STATUS_TIMEOUT_S)
        job_rows = [dict(record) for record in records]
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as error:
        log.warning("metrics.job_status_unavailable", extra={"event": "metrics.job_status_unavailable",
                                                              "error": repr(error)})  # fmt: skip
        job_rows = None
    return Response(exposition(job_rows), media_type=CONTENT_TYPE_LATEST)
