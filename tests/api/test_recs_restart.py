"""The recommendations database restarts under a running app: 503 with Retry-After while it is
down (fast, never a hang), then the pool reconnects by itself. Uses a cluster of its own."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.bootstrap import bootstrap
from service.migrate import migrate
from service.settings import Settings
from tests.clusters import Cluster
from tests.conftest import APP_PASSWORD, AUTH, OWNER_PASSWORD, READER_PASSWORD, make_settings


def restart_settings(cluster: Cluster, redis_url: str) -> Settings:
    """The service's databases, main and recs, both on the cluster that restarts."""
    host = f"127.0.0.1:{cluster.port}"
    return make_settings(
        redis_url,
        main_database_url=f"postgresql://mysanta_main_reader:{READER_PASSWORD}@{host}/restart_main",
        recommendations_database_url=f"postgresql://mysanta_app:{APP_PASSWORD}@{host}/restart_recs",
        recommendations_owner_database_url=f"postgresql://mysanta_owner:{OWNER_PASSWORD}@{host}/restart_recs",
        db_statement_timeout_ms=2000,
    )


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    own = Cluster("mysanta-restart-")
    try:
        own.infra("start-postgres")
        settings = restart_settings(own, "redis://127.0.0.1:1/0")
        bootstrap(own.infra("superuser-url"), settings, dev_main=True)
        migrate(settings, schedule=False)
        yield own
    finally:
        own.remove()


async def test_requests_fail_fast_with_503_while_recs_is_down_and_recover_after(
    cluster: Cluster, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(restart_settings(cluster, redis_url))  # replaces the root log handlers
    logging.getLogger().addHandler(caplog.handler)
    async with AsyncTestClient(app=app) as client:
        body = {"user_params": {"gender": "f"}, "filters": {"price_to": 1}}  # an uncached key each time
        assert (await client.post("/popular", json=body, auth=AUTH)).status_code == 200
        cluster.infra("stop-postgres")
        try:
            for attempt in range(3):
                body["filters"]["price_to"] = 2 + attempt
                started = time.monotonic()
                response = await client.post("/popular", json=body, auth=AUTH)
                elapsed = time.monotonic() - started
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"] == "5"
                assert response.headers["content-type"].startswith("application/problem+json")
                assert elapsed < 15  # bounded by the connect timeout: no hang
            outage = [record for record in caplog.records if record.getMessage() == "database.unavailable"]
            assert len(outage) == 1 and outage[0].requests == 1  # once, not once per request
            health = await client.get("/health")
            assert (
                health.status_code == 503
                and health.json()["checks"]["recommendations_db"]["status"] == "down"
            )
        finally:
            cluster.infra("start-postgres")
        body["filters"]["price_to"] = 100
        for _ in range(3):  # stale pooled connections are replaced; no restart of the app
            response = await client.post("/popular", json=body, auth=AUTH)
            if response.status_code == 200:
                break
        assert response.status_code == 200, response.text
        assert (await client.get("/health")).json()["checks"]["recommendations_db"]["status"] == "up"
    logging.getLogger().removeHandler(caplog.handler)
