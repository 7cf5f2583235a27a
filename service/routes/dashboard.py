"""GET /admin/dashboard: one server-rendered page of health, jobs, traffic, catalogue and quality."""

from __future__ import annotations

import asyncio
import datetime
import logging
from typing import Any

import asyncpg
from litestar import get
from litestar.di import NamedDependency
from litestar.response import Template

from service.charts import bar_chart
from service.clients import Clients
from service.dashboard import (
    BENCH_FILE,
    QUALITY_FILE,
    REFRESH_SECONDS,
    database_snapshot,
    job_rows,
    online_sections,
    quality_sections,
    scale_curve,
    tier_rows,
)
from service.db import call_api
from service.routes.health import health_report
from service.routes.operations import collect_stats

log = logging.getLogger("service.dashboard")
TEMPLATE = "dashboard.html.j2"


@get("/admin/dashboard", include_in_schema=False, cache=False)
async def dashboard(clients: NamedDependency[Clients]) -> Template:
    """The operator's page (admin pair): /health, /stats, api.dashboard (cached per worker) and the
    last `make eval` / `make bench` results, as tables with a chart above each; it reloads itself.
    With the recs DB down it still renders, showing the health checks and the result files."""
    report = await health_report(clients)
    page: dict[str, Any] = {
        "generated_at": datetime.datetime.now(datetime.UTC),
        "refresh_seconds": REFRESH_SECONDS,
        "health": report,
        "quality": quality_sections(clients.dashboard.results.load(QUALITY_FILE)),
        "curve": scale_curve(clients.dashboard.results.load(BENCH_FILE)),
        "stats": None,
    }
    try:
        stats, snapshot, versions = await asyncio.gather(
            collect_stats(clients), database_snapshot(clients), call_api(clients.pool, "data_versions")
        )
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as error:
        log.warning("dashboard.database_unavailable", extra={"error": repr(error)})
        return Template(template_name=TEMPLATE, context=page)
    requests = sorted(stats.requests, key=lambda row: (row.route, row.algorithm))
    tiers = tier_rows(snapshot)
    page |= {
        "stats": stats,
        "versions": [dict(row) for row in versions],
        "jobs": job_rows(snapshot, stats.jobs),
        "requests": requests,
        "latency_chart": bar_chart([(f"{row.route} {row.algorithm}", row.p95_ms) for row in requests], " ms"),
        "tiers": tiers,
        "tier_chart": bar_chart(tiers),
        "catalogue": snapshot.get("catalogue") or {},
        "top_presents": snapshot.get("top_presents") or [],
        "online": online_sections(stats.online),
    }
    return Template(template_name=TEMPLATE, context=page)
