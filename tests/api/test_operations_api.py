"""GET /stats and GET /metrics: numbers that agree with the database and with the requests made,
across several uvicorn workers, and when Redis is down."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import httpx
import psycopg
import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from service.app import create_app
from service.settings import Settings
from tests.conftest import ADMIN_AUTH, AUTH, make_settings, owner_connect, running_server
from tests.data import World, fill_known_world

POPULAR_BODY = {"user_params": {"gender": "female", "age": "25-34"}, "pagination": {"page": 1, "limit": 5}}


def refresh_all() -> None:
    with owner_connect() as owner:
        owner.execute("CALL recs.refresh_all()")


def samples(text: str, name: str, **labels: str) -> float:
    """The sum of a series' samples whose labels include these (0 when there are none)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def a_collaborative_user(world: World) -> str:
    row = world.main.execute(
        "SELECT l.user_id FROM handpicked_likes l"
        " JOIN handpicked_presents p ON p.id = l.handpicked_present_id AND p.user_id IS NULL"
        " GROUP BY l.user_id HAVING count(*) = 2 ORDER BY l.user_id LIMIT 1"
    ).fetchone()
    assert row is not None
    return str(row[0])


def request_entry(stats: dict[str, Any], route: str, algorithm: str) -> dict[str, Any]:
    entries = [e for e in stats["requests"] if (e["route"], e["algorithm"]) == (route, algorithm)]
    assert len(entries) == 1, stats["requests"]
    return entries[0]


async def test_stats_agree_with_the_database_and_the_requests_made(
    world: World, client: AsyncTestClient
) -> None:
    totals = fill_known_world(world)
    refresh_all()
    for _ in range(2):  # a miss, then a hit
        assert (await client.post("/popular", json=POPULAR_BODY, auth=AUTH)).status_code == 200
    user = a_collaborative_user(world)
    response = await client.post("/personalized", json={"user_id": user}, auth=AUTH)
    assert response.status_code == 200
    algorithm = response.json()["algorithm_used"]
    assert (await client.post("/popular", json={"pagination": {"limit": 1000}}, auth=AUTH)).status_code == 422

    response = await client.get("/stats", auth=ADMIN_AUTH)
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["main_totals"] == totals
    assert stats["users"] == {"with_demographics": 3, "with_profile": 4, "with_neighbors": 3}
    counts = world.recs.execute(
        "SELECT (SELECT count(*) FROM recs.items), (SELECT count(*) FROM recs.popular_items)"
    ).fetchone()
    assert (stats["derived_rows"]["items"], stats["derived_rows"]["popular_items"]) == counts
    jobs = {job["job"]: job for job in stats["jobs"]}
    logged = world.recs.execute(
        "SELECT rows, duration_ms FROM recs.job_runs WHERE job = 'refresh_user_profiles'"
    ).fetchone()
    # Durations are served rounded to µs (no float noise such as 31.343000000000004).
    assert logged is not None
    served = (jobs["refresh_user_profiles"]["rows"], jobs["refresh_user_profiles"]["duration_ms"])
    assert served == (logged[0], round(logged[1], 3))
    assert {"schedule", "next_run_at", "cron_last_status"} <= set(jobs["cleanup"])

    assert stats["telemetry_available"] is True and stats["counting_since"] is not None
    assert stats["cache_by_kind"]["popular"] == {"hits": 1, "misses": 1, "errors": 0, "hit_rate": 0.5}
    assert stats["cache_by_kind"]["personalized"] == {"hits": 0, "misses": 1, "errors": 0, "hit_rate": 0.0}
    assert (stats["cache"]["hits"], stats["cache"]["misses"], stats["cache"]["errors"]) == (1, 2, 0)
    popular = request_entry(stats, "/popular", "popular")
    assert (popular["requests"], popular["latency_samples"]) == (2, 2)  # the 422 is not a recommendation
    assert 0 < popular["p50_ms"] <= popular["p95_ms"]
    assert request_entry(stats, "/personalized", algorithm)["requests"] == 1


async def test_stats_needs_auth(client: AsyncTestClient) -> None:
    for path in ("/stats", "/metrics"):
        assert (await client.get(path)).status_code == 401


async def test_stats_while_redis_is_down(databases: tuple[psycopg.Connection, ...]) -> None:
    settings = make_settings()  # Redis on a closed port
    async with AsyncTestClient(app=create_app(settings)) as client:
        before = (await client.get("/metrics", auth=ADMIN_AUTH)).text
        assert (await client.post("/popular", json=POPULAR_BODY, auth=AUTH)).status_code == 200
        after = (await client.get("/metrics", auth=ADMIN_AUTH)).text
        response = await client.get("/stats", auth=ADMIN_AUTH)
    lookups = {"kind": "popular", "result": "error"}  # an outage is neither a hit nor a miss
    assert (
        samples(after, "mysanta_cache_lookups_total", **lookups)
        - samples(before, "mysanta_cache_lookups_total", **lookups)
        == 1
    )
    assert response.status_code == 200
    stats = response.json()
    assert stats["telemetry_available"] is False and stats["requests"] == []
    assert stats["users"]["with_demographics"] == 0


async def test_metrics_expose_the_named_series_and_count_a_request(
    world: World, client: AsyncTestClient
) -> None:
    fill_known_world(world)
    refresh_all()
    before = (await client.get("/metrics", auth=ADMIN_AUTH)).text
    assert (await client.post("/popular", json=POPULAR_BODY, auth=AUTH)).status_code == 200
    response = await client.get("/metrics", auth=ADMIN_AUTH)
    assert response.status_code == 200
    # One charset, and the text format the OpenAPI document names (Go's mime parser, which
    # Prometheus uses, refuses a parameter given twice).
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    document = (await client.get("/docs/openapi.json")).json()
    assert list(document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == [
        "text/plain; version=0.0.4"
    ]
    after = response.text

    def grew(name: str, **labels: str) -> float:
        return samples(after, name, **labels) - samples(before, name, **labels)

    assert grew("mysanta_http_requests_total", route="/popular", method="POST", status="200") == 1
    assert grew("mysanta_http_request_duration_seconds_count", route="/popular", method="POST") == 1
    assert grew("mysanta_recommendation_duration_seconds_count", route="/popular", algorithm="popular") == 1
    assert grew("mysanta_cache_lookups_total", kind="popular", result="miss") == 1
    assert grew("mysanta_cache_lookups_total", kind="popular", result="hit") == 0
    assert samples(after, "mysanta_db_pool_max_connections") >= 1
    assert "mysanta_db_pool_connections" in after

    assert samples(after, "mysanta_job_status_up") == 1
    row = world.recs.execute(
        "SELECT duration_ms, rows FROM recs.job_runs WHERE job = 'refresh_popular_items'"
    ).fetchone()
    assert row is not None
    duration = samples(after, "mysanta_job_last_duration_seconds", job="refresh_popular_items")
    assert duration == pytest.approx(round(row[0], 3) / 1000)  # /admin/jobs and /metrics round to µs
    assert samples(after, "mysanta_job_last_rows", job="refresh_popular_items") == row[1]
    assert samples(after, "mysanta_job_last_run_failed", job="refresh_popular_items") == 0
    assert samples(after, "mysanta_job_logged_runs", job="refresh_user_similarities") == 1
    assert "mysanta_job_logged_failures" in after
    items = world.recs.execute("SELECT max(item_id) FROM recs.items").fetchone()
    assert items is not None
    used = samples(after, "mysanta_sequence_used_ratio", sequence="recs.items_item_id_seq")
    assert used == pytest.approx(items[0] / (2**31 - 1))  # one value per present, none burnt


async def test_metrics_report_a_failed_job(world: World, client: AsyncTestClient) -> None:
    world.stale_setting("job_run_retention_days", "thirty")
    with owner_connect() as owner, pytest.raises(psycopg.errors.InvalidTextRepresentation):
        owner.execute("CALL recs.run_job('cleanup')")
    text = (await client.get("/metrics", auth=ADMIN_AUTH)).text
    assert samples(text, "mysanta_job_last_run_failed", job="cleanup") == 1
    assert samples(text, "mysanta_job_logged_failures", job="cleanup") == 1


def _series_total(base_url: str, name: str, **labels: str) -> float:
    text = httpx.get(f"{base_url}/metrics", auth=ADMIN_AUTH, timeout=5).text
    return samples(text, name, **labels)


def _popular_requests(stats: dict[str, Any]) -> int:
    return sum(e["requests"] for e in stats["requests"] if e["route"] == "/popular")


def _each_on_a_new_connection(base_url: str, count: int) -> Iterable[int]:
    for _ in range(count):  # a new connection each time: the kernel spreads them over the workers
        with httpx.Client(base_url=base_url, auth=AUTH, timeout=5) as http:
            yield http.post("/popular", json=POPULAR_BODY).status_code


def test_metrics_of_a_single_worker_server_keep_every_series(world: World, settings: Settings) -> None:
    # One worker serves from the process that prepared the series directory.
    with running_server(settings, workers=1) as (base_url, _):
        assert set(_each_on_a_new_connection(base_url, 3)) == {200}
        text = httpx.get(f"{base_url}/metrics", auth=ADMIN_AUTH, timeout=5).text
    assert samples(text, "mysanta_db_pool_max_connections") == settings.db_pool_max_size
    assert samples(text, "mysanta_db_pool_connections", state="idle") >= 1
    assert samples(text, "mysanta_http_requests_total", route="/popular") == 3


def test_stats_and_metrics_count_every_worker(world: World, settings: Settings) -> None:
    fill_known_world(world)
    refresh_all()
    requests = 40
    shared = make_settings(settings.recommendations_redis_url, stats_flush_ms=100)
    with running_server(shared, workers=2) as (base_url, _):
        assert set(_each_on_a_new_connection(base_url, requests)) == {200}
        # Each worker writes its Prometheus series to the shared directory every STATS_FLUSH_MS.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            served = _series_total(base_url, "mysanta_http_requests_total", route="/popular")
            looked_up = _series_total(base_url, "mysanta_cache_lookups_total", kind="popular")
            if served >= requests and looked_up >= requests:
                break
            time.sleep(0.1)
        assert (served, looked_up) == (requests, requests)
        # /stats: each worker adds its counts to Redis every STATS_FLUSH_MS.
        deadline = time.monotonic() + 10
        while True:
            stats = httpx.get(f"{base_url}/stats", auth=ADMIN_AUTH, timeout=5).json()
            if _popular_requests(stats) >= requests or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert _popular_requests(stats) == requests
        popular = stats["cache_by_kind"]["popular"]
        assert popular["hits"] + popular["misses"] == requests
        assert popular["misses"] == 1  # sequential requests: the first misses, the rest hit the shared cache
