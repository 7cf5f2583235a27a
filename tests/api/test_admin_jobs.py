"""Admin job routes run the same SQL as pg_cron and report the run log."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import msgspec
import psycopg
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.settings import Settings, settings_environ
from tests.conftest import (
    ADMIN_AUTH,
    RECS_DB,
    SUPERUSER,
    app_connect,
    make_settings,
    owner_connect,
    running_server,
)
from tests.data import break_job_setting


async def test_run_a_job_then_see_it_in_the_status(client: AsyncTestClient) -> None:
    response = await client.post("/admin/jobs/cleanup", auth=ADMIN_AUTH)
    assert response.status_code == 200, response.text
    run = response.json()
    assert (run["job"], run["status"], run["rows"], run["error_code"]) == ("cleanup", "succeeded", 0, None)
    assert run["duration_ms"] >= 0 and run["run_id"] > 0
    status = (await client.get("/admin/jobs", auth=ADMIN_AUTH)).json()
    assert ("cleanup", 1, 0) in [(job["job"], job["runs"], job["failures"]) for job in status]


async def test_a_dbas_own_cron_job_is_listed_beside_the_recs_jobs(client: AsyncTestClient) -> None:
    """Another pg_cron job of this database (a DBA's) is listed by its name, not refused by the
    schema of the recs jobs' names: /admin/jobs, /stats and /metrics still answer."""
    with psycopg.connect(SUPERUSER.with_dbname("postgres"), autocommit=True) as su:
        row = su.execute(
            "INSERT INTO cron.job"
            " (schedule, command, nodename, nodeport, database, username, active, jobname) VALUES"
            " ('0 3 * * *', 'VACUUM', 'localhost', 5432, %s, 'mysanta_owner', false, 'nightly-vacuum')"
            " RETURNING jobid",
            (RECS_DB,),
        ).fetchone()
        assert row is not None
        try:
            jobs = await client.get("/admin/jobs", auth=ADMIN_AUTH)
            stats = await client.get("/stats", auth=ADMIN_AUTH)
            metrics = await client.get("/metrics", auth=ADMIN_AUTH)
        finally:
            su.execute("DELETE FROM cron.job WHERE jobid = %s", row)
    assert jobs.status_code == 200, jobs.text
    assert "nightly-vacuum" in [job["job"] for job in jobs.json()]
    assert stats.status_code == 200 and metrics.status_code == 200


async def test_a_failing_job_is_a_logged_500(
    databases: tuple[psycopg.Connection, ...], client: AsyncTestClient
) -> None:
    _, recs = databases
    break_job_setting(recs, "job_run_retention_days", "x")  # stored before values were checked
    response = await client.post("/admin/jobs/cleanup", auth=ADMIN_AUTH)
    assert response.status_code == 500
    problem = response.json()
    assert "job cleanup failed" in problem["detail"] and "22P02" in problem["detail"]
    assert problem["request_id"] == response.headers["x-request-id"]
    status = [
        job for job in (await client.get("/admin/jobs", auth=ADMIN_AUTH)).json() if job["job"] == "cleanup"
    ]
    assert (status[0]["failures"], status[0]["error_code"]) == (1, "22P02")
    # The database's own words (which may name hosts and roles) stay in the run log.
    assert "invalid input syntax" not in response.text + str(status)
    logged = recs.execute("SELECT error FROM recs.job_runs WHERE job = 'cleanup'").fetchone()
    assert logged is not None and "invalid input syntax" in logged[0]


async def test_unknown_or_malformed_job_names(client: AsyncTestClient) -> None:
    unknown = await client.post("/admin/jobs/nope", auth=ADMIN_AUTH)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "job"
    assert "unknown job; the jobs are: cleanup, " in unknown.json()["detail"]
    malformed = await client.post("/admin/jobs/DROP%20TABLE", auth=ADMIN_AUTH)
    assert malformed.status_code == 422
    assert malformed.headers["content-type"].startswith("application/problem+json")


@contextlib.contextmanager
def sync_held(recs: psycopg.Connection) -> Iterator[None]:
    """Hold the sync's lock from another session: refresh jobs wait in their first step."""
    recs.execute("SELECT pg_advisory_lock(recs.sync_lock_key())")
    try:
        yield
    finally:
        recs.execute("SELECT pg_advisory_unlock(recs.sync_lock_key())")


async def jobs_listed(client: AsyncTestClient) -> dict[str, Any]:
    """GET /admin/jobs, each job's row by its name."""
    return {job["job"]: job for job in (await client.get("/admin/jobs", auth=ADMIN_AUTH)).json()}


def run_as_cron(job: str) -> None:
    with owner_connect() as owner:
        owner.execute("CALL recs.run_job(%s)", (job,))


async def cron_run_waiting_for_the_sync(recs: psycopg.Connection, job: str) -> threading.Thread:
    """pg_cron's run of the job in a thread, once it waits for the sync lock sync_held holds."""
    cron_run = threading.Thread(target=run_as_cron, args=(job,))
    cron_run.start()
    for _ in range(200):
        waiting = recs.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        ).fetchone()
        if waiting == (1,):
            break
        await asyncio.sleep(0.05)
    return cron_run


def release_later(recs: psycopg.Connection, seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, lambda: recs.execute("SELECT pg_advisory_unlock(recs.sync_lock_key())"))
    timer.start()
    return timer


async def test_a_job_longer_than_the_request_timeout_runs_to_the_end(
    databases: tuple[psycopg.Connection, ...], settings: Settings
) -> None:
    _, recs = databases
    short = msgspec.structs.replace(settings, db_statement_timeout_ms=200)
    async with AsyncTestClient(app=create_app(short)) as client:
        recs.execute("SELECT pg_advisory_lock(recs.sync_lock_key())")
        timer = release_later(recs, 1.5)  # the job waits 1.5 s: far past the pool's 200 ms
        response = await client.post("/admin/refresh-popular-items", auth=ADMIN_AUTH)
        timer.join()
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["status"] == "succeeded" and run["duration_ms"] >= 1000
    # The wait is put down to the sync's lock, not to its first read of main.
    steps = recs.execute("SELECT details -> 'steps_ms' FROM recs.job_runs WHERE id = %s", (run["run_id"],))
    by_step = steps.fetchone()[0]  # type: ignore[index]
    assert by_step["sync.lock_waited"] >= 1000 > by_step["sync.presents_read"], by_step


async def test_a_job_past_its_own_timeout_is_logged_and_answered_without_internals(
    databases: tuple[psycopg.Connection, ...], settings: Settings
) -> None:
    _, recs = databases
    bounded = msgspec.structs.replace(settings, job_statement_timeout_s=1)
    async with AsyncTestClient(app=create_app(bounded)) as client:
        with sync_held(recs):
            response = await client.post("/admin/refresh-popular-items", auth=ADMIN_AUTH)
    assert response.status_code == 500
    assert "57014" in response.json()["detail"] and "statement timeout" not in response.text
    logged = recs.execute(
        "SELECT error, details ->> 'sqlstate', finished_at IS NOT NULL FROM recs.job_runs"
        " WHERE job = 'refresh_popular_items'"
    ).fetchall()
    assert logged == [("canceling statement due to statement timeout", "57014", True)]


async def test_an_admin_run_during_a_cron_run_of_the_same_job_is_skipped(
    databases: tuple[psycopg.Connection, ...], client: AsyncTestClient
) -> None:
    _, recs = databases
    with sync_held(recs):
        # pg_cron's run (CALL recs.run_job as the owner) starts first and waits for the sync.
        cron_run = await cron_run_waiting_for_the_sync(recs, "refresh_popular_items")
        second = await client.post("/admin/refresh-popular-items", auth=ADMIN_AUTH)
        assert second.status_code == 409, second.text
        assert "in progress" in second.json()["detail"]
    cron_run.join()
    logged = recs.execute(
        "SELECT details ? 'skipped_because', error IS NULL FROM recs.job_runs"
        " WHERE job = 'refresh_popular_items' ORDER BY id"
    ).fetchall()
    assert logged == [(True, True), (False, True)]  # the skip is logged as it happens, then the run
    status = await jobs_listed(client)
    popular = status["refresh_popular_items"]
    assert (popular["runs"], popular["skipped"], popular["failures"], popular["error_code"]) == (
        1,
        1,
        0,
        None,
    )


async def test_a_run_in_progress_is_listed_with_its_start(
    databases: tuple[psycopg.Connection, ...], client: AsyncTestClient
) -> None:
    _, recs = databases
    with sync_held(recs):
        before = recs.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
        # pg_cron's run: holds the job's lock while it waits for the sync.
        cron_run = await cron_run_waiting_for_the_sync(recs, "refresh_popular_items")
        during = await jobs_listed(client)
        metrics = (await client.get("/metrics", auth=ADMIN_AUTH)).text
    cron_run.join()
    running = during["refresh_popular_items"]["running_since"]
    assert running is not None and datetime.fromisoformat(running) >= before
    assert [name for name, job in during.items() if job["running_since"] is not None] == [
        "refresh_popular_items"
    ]
    assert 'mysanta_job_running_since_timestamp_seconds{job="refresh_popular_items"}' in metrics
    after = await jobs_listed(client)
    assert after["refresh_popular_items"]["running_since"] is None
    assert after["refresh_popular_items"]["runs"] == 1


def run_as_admin_call(job: str) -> None:
    """What POST /admin/run-job does in the database: api.run_job on a connection of the app role."""
    with app_connect() as app:
        app.execute("SELECT * FROM api.run_job(%s)", (job,))


async def test_a_run_an_admin_call_started_is_listed_with_its_start(
    databases: tuple[psycopg.Connection, ...], client: AsyncTestClient
) -> None:
    """The admin call's session is the app role's: the owner sees it as a member of that role."""
    _, recs = databases
    with sync_held(recs):
        before = recs.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
        admin_run = threading.Thread(target=run_as_admin_call, args=("refresh_popular_items",))
        admin_run.start()
        running = None
        for _ in range(200):  # until the run holds the job's lock (it then waits for the sync)
            jobs = await jobs_listed(client)
            running = jobs["refresh_popular_items"]["running_since"]
            if running is not None:
                break
            await asyncio.sleep(0.05)
    admin_run.join()
    assert running is not None and datetime.fromisoformat(running) >= before
    after = await jobs_listed(client)
    assert after["refresh_popular_items"]["running_since"] is None
    assert after["refresh_popular_items"]["runs"] == 1


def test_a_client_that_gives_up_leaves_the_run_to_finish(
    databases: tuple[psycopg.Connection, ...], redis_url: str
) -> None:
    """An operator's curl (or a proxy) timing out does not stop the run: it finishes and is logged."""
    _, recs = databases
    with running_server(make_settings(redis_url)) as (base_url, _):
        with sync_held(recs):
            try:
                httpx.post(f"{base_url}/admin/refresh-popular-items", auth=ADMIN_AUTH, timeout=1)
                raise AssertionError("the run answered while the sync's lock was held")
            except httpx.ReadTimeout:
                pass
        for _ in range(100):
            finished = recs.execute(
                "SELECT error FROM recs.job_runs"
                " WHERE job = 'refresh_popular_items' AND finished_at IS NOT NULL"
            ).fetchall()
            if finished:
                break
            time.sleep(0.1)
    assert finished == [(None,)]


def test_the_refresh_command_says_a_failure_in_one_line(
    databases: tuple[psycopg.Connection, ...], redis_url: str
) -> None:
    _, recs = databases
    break_job_setting(recs, "job_run_retention_days", "x")
    env = os.environ | settings_environ(make_settings(redis_url))
    done = subprocess.run(
        [sys.executable, "-m", "service", "refresh", "cleanup"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(
        "refresh: failed (SQLSTATE 22P02): job cleanup failed: invalid input syntax"
    )
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
