"""Request and cache telemetry: Prometheus series (multi-process safe) and /stats counters shared in Redis."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import datetime as dt
import logging
import math
import os
from collections import Counter as Tally
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator

import asyncpg
import msgspec
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from service.cache import RedisClient
from service.models import CacheSummary, JobStatus, LatencySummary, OnlineRate, SequenceUsage

log = logging.getLogger("service.telemetry")

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED_ROUTE = "unmatched"  # requests no route matched: one label value, whatever the path
CACHE_RESULTS = ("hit", "miss", "error")
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

HTTP_REQUESTS = Counter(
    "mysanta_http_requests_total", "HTTP requests by route template, method and status.",
    ["route", "method", "status"],
)  # fmt: skip
HTTP_REQUEST_SECONDS = Histogram(
    "mysanta_http_request_duration_seconds", "HTTP request latency by route template and method.",
    ["route", "method"], buckets=LATENCY_BUCKETS_S,
)  # fmt: skip
RECOMMENDATION_SECONDS = Histogram(
    "mysanta_recommendation_duration_seconds",
    "Latency of answered recommendation requests by route and the algorithm that served them.",
    ["route", "algorithm"], buckets=LATENCY_BUCKETS_S,
)  # fmt: skip
CACHE_LOOKUPS = Counter(
    "mysanta_cache_lookups_total",
    "Redis cache lookups by kind (popular, personalized, user-profile) and result.",
    ["kind", "result"],
)  # fmt: skip
DB_POOL_CONNECTIONS = Gauge(
    "mysanta_db_pool_connections", "Connections of the recs DB pools (all workers) by state.",
    ["state"], multiprocess_mode="livesum",
)  # fmt: skip
DB_POOL_MAX_CONNECTIONS = Gauge(
    "mysanta_db_pool_max_connections", "Most connections the recs DB pools (all workers) may open.",
    multiprocess_mode="livesum",
)  # fmt: skip


def multiprocess_enabled() -> bool:
    """True when the workers share their series through PROMETHEUS_MULTIPROC_DIR (python -m service serve)."""
    return bool(os.environ.get(MULTIPROCESS_DIR_VARIABLE))


class SharedSummary(msgspec.Struct, kw_only=True):
    """The request and cache numbers of every worker, as Redis holds them."""

    available: bool
    counting_since: dt.datetime | None
    cache: CacheSummary
    cache_by_kind: dict[str, CacheSummary]
    requests: list[LatencySummary]


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values (None when there are none)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def _cache_summary(hits: int, misses: int, errors: int) -> CacheSummary:
    """The hit rate counts answered lookups only: an outage does not lower it."""
    total = hits + misses
    return CacheSummary(
        hits=hits, misses=misses, errors=errors, hit_rate=round(hits / total, 4) if total else None
    )


MAX_CACHED_SERIES = 1000  # request shapes whose series are kept looked up (methods are the client's)


class _PendingHistogram:
    """Observations of one histogram series not yet added to it: counts per bucket and their sum."""

    def __init__(self, histogram: Histogram) -> None:
        self.histogram = histogram
        self.counts = [0] * len(LATENCY_BUCKETS_S)
        self.overflow = 0  # beyond the last bound (+Inf)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        index = bisect.bisect_left(LATENCY_BUCKETS_S, seconds)
        if index < len(self.counts):
            self.counts[index] += 1
        else:
            self.overflow += 1
        self.total += seconds

    def apply(self) -> None:
        """Add what is pending to the series: one write per bucket touched, not one per observation
        (prometheus_client keeps a non-cumulative value per bucket and a sum; it has no public call
        that adds many observations at once)."""
        counts = [*self.counts, self.overflow]
        if not any(counts):
            return
        buckets, added = getattr(self.histogram, "_buckets", None), getattr(self.histogram, "_sum", None)
        if buckets is None or added is None or len(buckets) != len(counts):
            # Another layout: one by one, at each bucket's bound (the sum is then approximate).
            for bound, count in zip((*LATENCY_BUCKETS_S, 2 * LATENCY_BUCKETS_S[-1]), counts, strict=True):
                for _ in range(count):
                    self.histogram.observe(bound)
        else:
            for value, count in zip(buckets, counts, strict=True):
                if count:
                    value.inc(count)
            added.inc(self.total)
        self.counts, self.overflow, self.total = [0] * len(LATENCY_BUCKETS_S), 0, 0.0


class _RequestSeries:
    """The Prometheus series one request shape (route, method, status, algorithm) counts in, and
    what it counted since they were last written."""

    def __init__(self, route: str | None, method: str, status: int, algorithm: str | None) -> None:
        route_label = route or UNMATCHED_ROUTE
        self.requests = HTTP_REQUESTS.labels(route_label, method, str(status))
        self.pending_requests = 0
        self.seconds = _PendingHistogram(HTTP_REQUEST_SECONDS.labels(route_label, method))
        recommendation = algorithm is not None and status == 200
        self.recommendation_seconds = None
        if recommendation:
            histogram = RECOMMENDATION_SECONDS.labels(route_label, algorithm)
            self.recommendation_seconds = _PendingHistogram(histogram)
        self.field = f"{route_label} {algorithm}" if recommendation else None

    def apply(self) -> None:
        if self.pending_requests:
            self.requests.inc(self.pending_requests)
            self.pending_requests = 0
        self.seconds.apply()
        if self.recommendation_seconds is not None:
            self.recommendation_seconds.apply()


class Telemetry:
    """Counts requests and cache lookups per worker, in batches: to Prometheus and to Redis.

    Each request only adds to counters in memory. Every flush_interval_s (and before /metrics
    answers, for this worker) they are written to the Prometheus series, one write per series
    touched. Redis gets one pipelined write per flush (also before /stats answers), never one per
    request: request counts per (route, algorithm), the latencies of the last
    latency_window requests of each, and cache hits and misses per kind. Every worker adds to the
    same keys, so /stats is the same whichever worker answers (and across replicas on one Redis).
    If Redis is down, counts wait in memory for the next flush; latency samples keep the newest.
    """

    # The hash tag {v1}: every counter key lies in one Redis Cluster slot, so a flush's MULTI/EXEC
    # over several of them is allowed there too.
    KEY_PREFIX = "stats:{v1}:"

    def __init__(self, flush_interval_s: float = 1.0, latency_window: int = 1000) -> None:
        self.flush_interval_s = flush_interval_s
        self.latency_window = latency_window
        self._client: RedisClient | None = None
        self._pool: asyncpg.Pool | None = None
        self._pool_max = 0
        self._requests: Tally[str] = Tally()
        self._latencies: defaultdict[str, deque[float]] = defaultdict(lambda: deque(maxlen=latency_window))
        self._cache: Tally[str] = Tally()
        self._flusher: asyncio.Task[None] | None = None
        self._flush_lock = asyncio.Lock()
        # The labelled series of each request shape, looked up once, and the counts not yet written
        # to them and to the cache lookup series.
        self._request_series: dict[tuple[str | None, str, int, str | None], _RequestSeries] = {}
        self._unkept: list[_RequestSeries] = []
        self._pending_lookups: Tally[str] = Tally()

    def start(self, client: RedisClient, pool: asyncpg.Pool, pool_max: int) -> None:
        """Attach this worker's Redis client and pool, and start flushing in the background."""
        self._client, self._pool, self._pool_max = client, pool, pool_max
        DB_POOL_MAX_CONNECTIONS.set(pool_max)
        self._flusher = asyncio.ensure_future(self._flush_forever())

    async def stop(self) -> None:
        """Flush what is left and stop; a multi-process worker's gauges leave with it."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        self.write_series()
        await self.flush()
        if multiprocess_enabled():
            prometheus_multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    def observe_request(
        self, route: str | None, method: str, status: int, seconds: float, algorithm: str | None
    ) -> None:
        """Count one HTTP request; a recommendation (algorithm set, status 200) also per algorithm."""
        shape = (route, method, status, algorithm)
        series = self._request_series.get(shape)
        if series is None:
            series = _RequestSeries(route, method, status, algorithm)
            if len(self._request_series) < MAX_CACHED_SERIES:
                self._request_series[shape] = series
            else:  # not kept: written at once
                self._unkept.append(series)
        series.pending_requests += 1
        series.seconds.observe(seconds)
        if series.field is not None and series.recommendation_seconds is not None:
            series.recommendation_seconds.observe(seconds)
            self._requests[series.field] += 1
            self._latencies[series.field].append(round(seconds * 1000, 3))

    def observe_cache_lookup(self, kind: str, result: str) -> None:
        """Count one cache lookup of a kind of cached value: result is hit, miss or error."""
        field = f"{kind} {result}"
        self._cache[field] += 1
        self._pending_lookups[field] += 1

    def write_series(self) -> None:
        """Add the counts since the last call to this worker's Prometheus series: every
        flush_interval_s and before /metrics answers, rather than a write per request."""
        for series in (*self._request_series.values(), *self._unkept):
            series.apply()
        self._unkept.clear()
        lookups, self._pending_lookups = self._pending_lookups, Tally()
        for field, count in lookups.items():
            kind, result = field.rsplit(" ", 1)
            CACHE_LOOKUPS.labels(kind, result).inc(count)

    def update_pool_gauges(self) -> None:
        """This worker's pool: connections in use and idle."""
        if self._pool is None:
            return
        size, idle = self._pool.get_size(), self._pool.get_idle_size()
        DB_POOL_CONNECTIONS.labels("in_use").set(size - idle)
        DB_POOL_CONNECTIONS.labels("idle").set(idle)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval_s)
            try:
                self.update_pool_gauges()
                self.write_series()
                await self.flush()
            except Exception:  # never let one bad flush stop the counting for good
                log.exception("telemetry.flush_error")

    async def flush(self) -> bool:
        """Add this worker's counts since the last flush to Redis; False (counts kept) if it failed."""
        if self._client is None:
            return False
        async with self._flush_lock:
            requests, cache = self._requests, self._cache
            latencies = {field: list(samples) for field, samples in self._latencies.items() if samples}
            if not requests and not cache:
                return True
            self._requests, self._cache = Tally(), Tally()
            self._latencies.clear()
            prefix = self.KEY_PREFIX
            try:  # MULTI/EXEC: Redis applies all of a flush or none of it
                async with self._client.pipeline(transaction=True) as pipe:
                    pipe.set(prefix + "since", dt.datetime.now(dt.UTC).isoformat(), nx=True)
                    for field, count in requests.items():
                        pipe.hincrby(prefix + "requests", field, count)
                    for field, count in cache.items():
                        pipe.hincrby(prefix + "cache", field, count)
                    for field, samples in latencies.items():
                        pipe.lpush(prefix + "latency:" + field, *samples)
                        pipe.ltrim(prefix + "latency:" + field, 0, self.latency_window - 1)
                    await pipe.execute()
            except (RedisError, OSError) as error:
                self._restore(requests, cache, latencies)
                log.debug("telemetry.flush_failed", extra={"error": str(error)})
                return False
            except asyncio.CancelledError:  # stopping mid-flush: keep the batch for the last flush
                self._restore(requests, cache, latencies)
                raise
            return True

    def _restore(self, requests: Tally[str], cache: Tally[str], latencies: dict[str, list[float]]) -> None:
        """Put a batch that did not reach Redis back in front of what came since."""
        self._requests.update(requests)
        self._cache.update(cache)
        for field, samples in latencies.items():  # older samples first, the newest kept
            newer = list(self._latencies[field])
            self._latencies[field] = deque(samples + newer, maxlen=self.latency_window)

    async def summary(self) -> SharedSummary:
        """Every worker's numbers (this worker's flushed first); available=False when Redis is down."""
        flushed = await self.flush()
        empty = SharedSummary(
            available=False, counting_since=None, cache=_cache_summary(0, 0, 0), cache_by_kind={}, requests=[]
        )
        if not flushed or self._client is None:
            return empty
        prefix = self.KEY_PREFIX
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.get(prefix + "since")
                pipe.hgetall(prefix + "requests")
                pipe.hgetall(prefix + "cache")
                since, requests, cache = await pipe.execute()
            fields = sorted(_text(field) for field in requests)
            async with self._client.pipeline(transaction=False) as pipe:
                for field in fields:
                    pipe.lrange(prefix + "latency:" + field, 0, -1)
                samples = await pipe.execute()
        except (RedisError, OSError):
            return empty
        counts = {_text(field): int(value) for field, value in requests.items()}
        summaries = []
        for field, raw in zip(fields, samples, strict=True):
            route, algorithm = field.rsplit(" ", 1)
            values = sorted(float(value) for value in raw)
            summary = LatencySummary(
                route=route, algorithm=algorithm, requests=counts[field], latency_samples=len(values),
                p50_ms=percentile(values, 0.5), p95_ms=percentile(values, 0.95),
            )  # fmt: skip
            summaries.append(summary)
        by_kind: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CACHE_RESULTS, 0))
        for field, value in cache.items():
            kind, result = _text(field).rsplit(" ", 1)
            by_kind[kind][result] = int(value)
        return SharedSummary(
            available=True,
            counting_since=dt.datetime.fromisoformat(_text(since)) if since else None,
            cache=_cache_summary(*(sum(n[result] for n in by_kind.values()) for result in CACHE_RESULTS)),
            cache_by_kind={
                kind: _cache_summary(n["hit"], n["miss"], n["error"]) for kind, n in sorted(by_kind.items())
            },
            requests=summaries,
        )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class JobCollector(Collector):
    """Prometheus families of the jobs, from api.job_status read for this scrape."""

    def __init__(self, jobs: Iterable[JobStatus] | None) -> None:
        self.jobs = list(jobs) if jobs is not None else None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One gauge family per job attribute, and whether the job status could be read."""
        yield GaugeMetricFamily(
            "mysanta_job_status_up", "1 when the job status could be read from the recs DB for this scrape.",
            value=0 if self.jobs is None else 1,
        )  # fmt: skip
        if self.jobs is None:
            return
        families = {
            "last_run_timestamp_seconds": "Start of the job's last logged run (Unix time).",
            "last_duration_seconds": "Duration of the job's last logged run.",
            "last_rows": "Rows the job's last logged run reported.",
            "last_run_failed": "1 when the job's last logged run failed, else 0.",
            "logged_runs": "Runs of the job the run log keeps (the cleanup job trims it).",
            "logged_failures": "Failed runs of the job the run log keeps.",
            "logged_skips": "Runs of the job skipped because another was in progress, in the run log.",
            "next_run_timestamp_seconds": "Next start pg_cron has scheduled for the job (Unix time).",
            "running_since_timestamp_seconds": "Start of the run in progress (Unix time); absent if none.",
        }
        gauges = {
            name: GaugeMetricFamily(f"mysanta_job_{name}", help_text, labels=["job"])
            for name, help_text in families.items()
        }
        for status in self.jobs:
            job = [status.job]
            duration_ms = status.duration_ms
            values = {
                "last_run_timestamp_seconds": status.started_at.timestamp() if status.started_at else None,
                "last_duration_seconds": duration_ms / 1000 if duration_ms is not None else None,
                "last_rows": status.rows,
                "last_run_failed": None
                if status.started_at is None
                else float(status.error_code is not None),
                "logged_runs": status.runs,
                "logged_failures": status.failures,
                "logged_skips": status.skipped,
                "next_run_timestamp_seconds": status.next_run_at.timestamp() if status.next_run_at else None,
                "running_since_timestamp_seconds": status.running_since.timestamp()
                if status.running_since
                else None,
            }
            for name, value in values.items():
                if value is not None:
                    gauges[name].add_metric(job, float(value))
        yield from gauges.values()


class SequenceCollector(Collector):
    """mysanta_sequence_used_ratio per recs sequence, from api.sequence_usage read for this scrape."""

    def __init__(self, sequences: Iterable[SequenceUsage] | None) -> None:
        self.sequences = list(sequences) if sequences is not None else []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One gauge: the share of each sequence's range used."""
        gauge = GaugeMetricFamily(
            "mysanta_sequence_used_ratio",
            "Share of a recs sequence's range used (last value / max value); alert well before 1.",
            labels=["sequence"],
        )
        for usage in self.sequences:
            gauge.add_metric([usage.sequence_name], usage.used)
        yield gauge


class OnlineCollector(Collector):
    """The online measurement per route, algorithm, experiment and variant, from api.online_rates
    read for this scrape (hourly counters, not a scan of the served presents): impressions, clicks
    and likes as gauges (counts over the retained hours: they fall as the cleanup job trims them),
    and the rates' 95 % bounds."""

    def __init__(self, rates: Iterable[OnlineRate] | None) -> None:
        self.rates = list(rates) if rates is not None else []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One gauge family per count and bound, labelled route, algorithm, experiment, variant."""
        labels = ["route", "algorithm", "experiment", "variant"]
        families = {
            "impressions": "Presents served to known users on recorded pages (retained ones).",
            "clicks": "Of those, presents the user clicked within online_attribution_hours.",
            "likes": "Of those, presents the user liked within online_attribution_hours.",
            "ctr_low": "Lower bound of the 95 % Wilson interval of the click-through rate.",
            "ctr_high": "Upper bound of the 95 % Wilson interval of the click-through rate.",
        }
        gauges = {
            name: GaugeMetricFamily(f"mysanta_online_{name}", help_text, labels=labels)
            for name, help_text in families.items()
        }
        for rate in self.rates:
            values = [rate.route, rate.algorithm, rate.experiment or "", rate.variant or ""]
            for name, gauge in gauges.items():
                gauge.add_metric(values, float(getattr(rate, name)))
        yield from gauges.values()


def exposition(
    jobs: Iterable[JobStatus] | None,
    sequences: Iterable[SequenceUsage] | None = None,
    online: Iterable[OnlineRate] | None = None,
) -> bytes:
    """The Prometheus text format: every worker's series (or this process's), the job families and
    the online measurement."""
    if multiprocess_enabled():
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    job_registry = CollectorRegistry(auto_describe=False)
    job_registry.register(JobCollector(jobs))
    job_registry.register(SequenceCollector(sequences))
    job_registry.register(OnlineCollector(online))
    return generate_latest(registry) + generate_latest(job_registry)
