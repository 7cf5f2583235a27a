"""The dashboard's data: api.dashboard cached per worker, job strips, and the eval / bench result files."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import asyncpg

from service.charts import Run, bar_chart, interval_chart, line_chart, run_strip
from service.db import call_api

if TYPE_CHECKING:
    from service.clients import Clients

log = logging.getLogger("service.dashboard")
T = TypeVar("T")

SNAPSHOT_SECONDS = 30.0  # api.dashboard is read at most this often per worker
REFRESH_SECONDS = 60  # how often the page reloads itself
RUNS_PER_JOB = 30
TOP_PER_SEGMENT = 5
RESULTS_DIR = Path(__file__).resolve().parent.parent / "bench" / "results"
QUALITY_FILE = "quality-suite.json"
BENCH_FILE = "latest.json"
REFERENCE_LABELS = {
    "popularity": "popularity",
    "user_knn_20": "user-kNN 20",
    "user_knn_50": "user-kNN 50",
    "ease": "EASE",
}
REFRESH_JOBS = ("popular", "profiles", "similarities", "all")


@dataclass
class ExpiringValue(Generic[T]):
    """One value recomputed at most every `seconds` (per worker); concurrent readers share one load."""

    seconds: float
    _value: T | None = None
    _loaded_at: float = float("-inf")
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self, load: Callable[[], Awaitable[T]]) -> T:
        """The cached value if fresh, else a new one from `load` (one load at a time)."""
        async with self._lock:
            if self._value is None or time.monotonic() - self._loaded_at > self.seconds:
                self._value = await load()
                self._loaded_at = time.monotonic()
            return self._value


@dataclass
class ResultFiles:
    """The JSON result files of `make eval` and `make bench`, re-read only when a file changes."""

    directory: Path = RESULTS_DIR
    _read: dict[str, tuple[float, Any]] = field(default_factory=dict)

    def load(self, name: str) -> Any:
        """The parsed file, or None when it is absent or unreadable (logged)."""
        path = self.directory / name
        try:
            modified = path.stat().st_mtime
        except OSError:
            return None
        cached = self._read.get(name)
        if cached and cached[0] == modified:
            return cached[1]
        try:
            parsed = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            log.warning("dashboard.result_file_unreadable", extra={"file": name, "error": repr(error)})
            parsed = None
        self._read[name] = (modified, parsed)
        return parsed


@dataclass
class DashboardState:
    """Per worker: the cached api.dashboard snapshot and the result files."""

    snapshot: ExpiringValue[dict[str, Any]] = field(default_factory=lambda: ExpiringValue(SNAPSHOT_SECONDS))
    results: ResultFiles = field(default_factory=ResultFiles)


async def database_snapshot(clients: Clients) -> dict[str, Any]:
    """api.dashboard's numbers, at most one call per SNAPSHOT_SECONDS per worker."""

    async def load() -> dict[str, Any]:
        rows = await call_api(clients.pool, "dashboard", RUNS_PER_JOB, TOP_PER_SEGMENT)
        snapshot: dict[str, Any] = rows[0]["dashboard"]  # jsonb arrives decoded
        return snapshot

    return await clients.dashboard.snapshot.get(load)


def sqlstate_name(code: str | None) -> str | None:
    """The condition a SQLSTATE names ('22P02' -> 'invalid text representation'), as asyncpg knows it."""
    if code is None:
        return None
    condition = next(
        (kind for kind in vars(asyncpg.exceptions).values()
         if isinstance(kind, type) and getattr(kind, "sqlstate", None) == code),
        None,
    )  # fmt: skip
    if condition is None:
        return None
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", condition.__name__.removesuffix("Error")).lower()
    return words


def job_rows(snapshot: dict[str, Any], statuses: list[Any]) -> list[dict[str, Any]]:
    """Per job: its status from /stats, last success and error, and the strip of its recent runs."""
    by_job = {job["job"]: job for job in snapshot.get("jobs", [])}
    rows = []
    for status in statuses:
        detail = by_job.get(status.job, {})
        runs = [Run(seconds=run.get("seconds"), ok=bool(run.get("ok"))) for run in detail.get("runs", [])]
        failing = status.started_at is not None and status.error_code is not None
        rows.append(
            {
                "status": status,
                "failing": failing,
                "last_success_at": detail.get("last_success_at"),
                "last_failure_at": detail.get("last_failure_at"),
                "error_name": sqlstate_name(status.error_code) if failing else None,
                "chart": run_strip(runs),
                "runs": detail.get("runs", []),
            }
        )
    return rows


def quality_sections(suite: Any) -> list[dict[str, Any]]:
    """Per dataset of the last `make eval`: NDCG@10 of the product and of each reference, charted."""
    if not isinstance(suite, dict):
        return []
    sections = []
    for name, dataset in (suite.get("datasets") or {}).items():
        rows: list[tuple[str, float | None]] = [("product", dataset.get("product_ndcg10"))]
        for key, label in REFERENCE_LABELS.items():
            if key in (dataset.get("references_ndcg10") or {}):
                rows.append((label, dataset["references_ndcg10"][key]))
        sections.append(
            {
                "name": name,
                "users": dataset.get("users"),
                "ratio": dataset.get("product_to_ease_ndcg10"),
                "rows": rows,
                "chart": bar_chart(rows),
            }
        )
    return sections


def scale_curve(bench: Any) -> dict[str, Any] | None:
    """The refresh-time cost curve of the last `make bench`: seconds per job against the scale."""
    if not isinstance(bench, dict) or not bench.get("scale_series"):
        return None
    series_points = bench["scale_series"]
    points = list(series_points.values()) if isinstance(series_points, dict) else list(series_points)
    series: dict[str, list[tuple[float, float]]] = {}
    for job in REFRESH_JOBS:
        line = [
            (float(point["factor"]), float(point["refresh_s"][job]))
            for point in points
            if isinstance(point, dict)
            and isinstance(point.get("factor"), int | float)
            and isinstance(point.get("refresh_s"), dict)
            and isinstance(point["refresh_s"].get(job), int | float)
        ]
        if line:
            series[job] = line
    if not series:
        return None
    factors = sorted({x for line in series.values() for x, _ in line})
    return {
        "chart": line_chart(series, "scale (x target)", "refresh from empty, s"),
        "factors": factors,
        "table": [{"job": job, "by_factor": dict(line)} for job, line in series.items()],
        "commit": bench.get("commit"),
        "machine": bench.get("machine"),
    }


def tier_rows(snapshot: dict[str, Any]) -> list[tuple[str, float | None]]:
    """Users per personalisation tier, in tier order."""
    tiers = snapshot.get("tiers") or {}
    return [(tier, float(tiers.get(tier, 0))) for tier in ("popular", "content_based", "collaborative")]


def online_sections(rates: list[Any]) -> dict[str, Any]:
    """Click-through of the recorded pages (GET /stats' `online`): per route and algorithm over
    everyone, and per experiment its variants side by side, each with its 95 % interval."""

    def row_label(rate: Any, *parts: str | None) -> str:
        return " ".join(part for part in parts if part) or rate.route

    everyone = [rate for rate in rates if rate.experiment is None]
    experiments: dict[str, list[Any]] = {}
    for rate in rates:
        if rate.experiment is not None:
            experiments.setdefault(rate.experiment, []).append(rate)

    def by_variant(rows: list[Any]) -> list[Any]:
        return sorted(rows, key=lambda r: (r.variant or "", r.route, r.algorithm))

    return {
        "rates": rates,
        "chart": (
            interval_chart([(f"{r.route} {r.algorithm}", r.ctr, r.ctr_low, r.ctr_high) for r in everyone])
            if everyone
            else None
        ),
        "experiments": [
            {
                "name": name,
                "rows": by_variant(rows),
                "chart": interval_chart(
                    [
                        (row_label(r, r.variant or "(none)", r.route), r.ctr, r.ctr_low, r.ctr_high)
                        for r in by_variant(rows)
                    ]
                ),
            }
            for name, rows in sorted(experiments.items())
        ],
    }
