"""GET /health: each dependency reported; degraded (200) without Redis or main, open without auth."""

from __future__ import annotations

import asyncio
import logging

import httpx
import msgspec
import psycopg
import pytest
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.settings import Settings
from tests.conftest import AUTH, PG_PORT, RedisServer, owner_connect, running_server


async def test_health_is_green_with_every_dependency_up(client: AsyncTestClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "recommendations_db": "up",
        "main_db": "up",
        "redis": "up",
    }
    assert response.headers["x-request-id"]


async def test_health_is_degraded_when_redis_stops_and_recovers_when_it_returns(
    databases: tuple[psycopg.Connection, ...], settings: Settings
) -> None:
    server = RedisServer()
    server.start()
    try:
        own_settings = msgspec.structs.replace(settings, recommendations_redis_url=server.url)
        async with AsyncTestClient(app=create_app(own_settings)) as client:
            assert (await client.get("/health")).json()["checks"]["redis"]["status"] == "up"
            server.stop()
            response = await client.get("/health")
            assert response.status_code == 200
            assert response.json()["status"] == "degraded"
            assert response.json()["checks"]["redis"]["status"] == "down"
            server.start()
            response = await client.get("/health")
            assert response.json()["status"] == "ok"
    finally:
        server.stop()


async def test_health_reports_main_down_and_still_serves(
    databases: tuple[psycopg.Connection, ...], client: AsyncTestClient
) -> None:
    _, recs = databases
    recs.execute("ALTER SERVER main_db OPTIONS (SET port '1')")
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["main_db"]["status"] == "down"
    assert response.json()["checks"]["recommendations_db"]["status"] == "up"
    assert "port" not in response.text  # no connection details leak from the public endpoint


async def test_an_outage_is_logged_when_it_starts_and_when_it_ends_not_on_every_poll(
    databases: tuple[psycopg.Connection, ...], client: AsyncTestClient, caplog: pytest.LogCaptureFixture
) -> None:
    _, recs = databases
    caplog.set_level(logging.INFO, logger="service.health")
    assert (await client.get("/health")).json()["checks"]["main_db"]["status"] == "up"
    caplog.clear()  # a check of an earlier test may have left main down in this worker's memory
    recs.execute("ALTER SERVER main_db OPTIONS (SET port '1')")
    for _ in range(3):
        assert (await client.get("/health")).json()["checks"]["main_db"]["status"] == "down"
    recs.execute(f"ALTER SERVER main_db OPTIONS (SET port '{PG_PORT}')")
    for _ in range(2):
        assert (await client.get("/health")).json()["checks"]["main_db"]["status"] == "up"
    events = [record.getMessage() for record in caplog.records if record.name == "service.health"]
    assert events == ["health.main_db_down", "health.main_db_up"]


async def test_a_recs_db_outage_is_logged_once_with_main_unknown_not_on_every_poll(
    databases: tuple[psycopg.Connection, ...], client: AsyncTestClient, caplog: pytest.LogCaptureFixture
) -> None:
    _, recs = databases
    caplog.set_level(logging.INFO, logger="service.health")
    assert (await client.get("/health")).json()["status"] == "ok"
    caplog.clear()
    probes = "FUNCTION api.data_versions(), api.health()"
    recs.execute(f"REVOKE EXECUTE ON {probes} FROM mysanta_api, PUBLIC")  # every check's call fails
    try:
        for _ in range(3):
            assert (await client.get("/health")).status_code == 503
    finally:
        recs.execute(f"GRANT EXECUTE ON {probes} TO mysanta_api")
    assert (await client.get("/health")).json()["status"] == "ok"
    events = sorted(record.getMessage() for record in caplog.records if record.name == "service.health")
    down = ["health.main_db_unknown", "health.recs_db_down"]
    assert events == sorted([*down, "health.main_db_up", "health.recs_db_up"])


async def test_head_health_answers_the_same_status_with_no_body(
    databases: tuple[psycopg.Connection, ...], settings: Settings
) -> None:
    _, recs = databases
    with running_server(settings) as (base_url, _):
        async with httpx.AsyncClient(base_url=base_url) as http:
            ok = await http.head("/health")
            assert (ok.status_code, ok.content) == (200, b"")
            assert int(ok.headers["content-length"]) > 100  # the report's length, as GET's head says
            probes = "FUNCTION api.data_versions(), api.health()"
            recs.execute(f"REVOKE EXECUTE ON {probes} FROM mysanta_api, PUBLIC")  # the recs DB fails
            try:
                down = await http.head("/health")
                assert (await http.get("/health")).status_code == 503
            finally:
                recs.execute(f"GRANT EXECUTE ON {probes} TO mysanta_api")
            assert (down.status_code, down.content) == (503, b"")
            assert (await http.head("/health")).status_code == 200


async def test_health_answers_on_its_own_connections_while_requests_hold_every_pool_connection(
    settings: Settings,
) -> None:
    own_settings = msgspec.structs.replace(settings, db_pool_max_size=2, db_pool_acquire_timeout_ms=300)
    popular = {"user_params": {"gender": "f"}}
    with running_server(own_settings) as (base_url, _), owner_connect() as owner:
        async with httpx.AsyncClient(base_url=base_url, auth=AUTH, timeout=30) as client:
            owner.execute("BEGIN")
            owner.execute("LOCK TABLE recs.items IN ACCESS EXCLUSIVE MODE")  # /popular waits on it
            try:
                waiting = [asyncio.ensure_future(client.post("/popular", json=popular)) for _ in range(2)]
                await asyncio.sleep(0.5)  # both hold the worker's two connections
                busy = await client.post("/popular", json=popular)
                assert busy.status_code == 503  # no connection free within the acquire timeout
                probes = await asyncio.gather(*(client.get("/health") for _ in range(5)))  # overlapping
                for health in probes:
                    assert health.status_code == 200, health.text
                    checks = health.json()["checks"]
                    assert checks["recommendations_db"]["status"] == "up"
                    assert checks["main_db"]["status"] == "up"
            finally:
                owner.execute("ROLLBACK")
            assert {(await request).status_code for request in waiting} == {200}
