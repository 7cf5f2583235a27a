"""Admin job routes run the same SQL as pg_cron and report the run log."""

from __future__ import annotations

import psycopg
from litestar.testing import AsyncTestClient

from tests.conftest import ADMIN_AUTH
from tests.data import break_job_setting


async def test_run_a_job_then_see_it_in_the_status(client: AsyncTestClient) -> None:
    response = await client.post("/admin/jobs/cleanup", auth=ADMIN_AUTH)
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["job"] == "cleanup" and run["rows"] == 0 and run["error"] is None and run["duration_ms"] >= 0
    status = (await client.get("/admin/jobs", auth=ADMIN_AUTH)).json()
    assert ("cleanup", 1, 0) in [(job["job"], job["runs"], job["failures"]) for job in status]


async def test_a_failing_job_is_a_logged_500(
    databases: tuple[psycopg.Connection, ...], client: AsyncTestClient
) -> None:
    _, recs = databases
    break_job_setting(recs, "job_run_retention_days", "x")  # stored before values were checked
    response = await client.post("/admin/jobs/cleanup", auth=ADMIN_AUTH)
    assert response.status_code == 500
    assert "job cleanup failed" in response.json()["detail"]
    status = [
        job for job in (await client.get("/admin/jobs", auth=ADMIN_AUTH)).json() if job["job"] == "cleanup"
    ]
    assert status[0]["failures"] == 1 and "invalid input syntax" in status[0]["error"]


async def test_unknown_or_malformed_job_names(client: AsyncTestClient) -> None:
    unknown = await client.post("/admin/jobs/nope", auth=ADMIN_AUTH)
    assert unknown.status_code == 404 and "unknown job nope" in unknown.json()["detail"]
    malformed = await client.post("/admin/jobs/DROP%20TABLE", auth=ADMIN_AUTH)
    assert malformed.status_code == 422
    assert malformed.headers["content-type"].startswith("application/problem+json")
