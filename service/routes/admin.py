"""Admin routes: job status and running a job now (the same SQL pg_cron runs)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Response, get, post
from litestar.datastructures import State
from litestar.params import Parameter

from service.db import call_api
from service.errors import problem_response, problem_responses


class JobRun(msgspec.Struct, kw_only=True):
    """One logged run of a job."""

    job: str
    started_at: dt.datetime
    duration_ms: float | None
    rows: int | None
    error: str | None


class JobStatus(msgspec.Struct, kw_only=True):
    """A job: its last logged run (null fields if it never ran), the runs and failures the log
    keeps, its pg_cron schedule and next start, and pg_cron's own last outcome (null where pg_cron
    does not run it here, or its database could not be read)."""

    job: str
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    duration_ms: float | None
    rows: int | None
    error: str | None
    runs: int
    failures: int
    cron_jobname: str | None
    schedule: str | None
    scheduled: bool | None
    next_run_at: dt.datetime | None
    cron_last_status: str | None
    cron_last_started_at: dt.datetime | None
    cron_last_message: str | None


@get("/admin/jobs", tags=["admin"], summary="Status of every job", responses=problem_responses())
async def job_status(state: State) -> list[JobStatus]:
    """Per job: last run (start, duration, rows, error), run/failure counts, schedule, next start."""
    rows = await call_api(state.pool, "job_status")
    return [msgspec.convert(dict(row), JobStatus) for row in rows]


async def _run(state: State, job: str) -> Response[Any]:
    rows = await call_api(state.pool, "run_job", job)
    run = msgspec.convert(dict(rows[0]), JobRun)
    if run.error:
        return problem_response(500, "Job failed", f"job {job} failed: {run.error}")
    return Response(run)


@post(
    "/admin/jobs/{job:str}", tags=["admin"], summary="Run a job now", status_code=200,
    responses=problem_responses(404),
)  # fmt: skip
async def run_job(
    state: State,
    job: Annotated[str, Parameter(description="Job name, e.g. `cleanup`.", pattern=r"^[a-z_]{1,64}$")],
) -> Response[JobRun]:
    """Run the job's SQL function as pg_cron would; 500 with the job's error if it failed."""
    return await _run(state, job)


@post(
    "/admin/refresh-popular-items", tags=["admin"], summary="Refresh popularity now", status_code=200,
    responses=problem_responses(),
)  # fmt: skip
async def refresh_popular_items(state: State) -> Response[JobRun]:
    """Sync from main and refresh the popularity views (job refresh_popular_items); rows and duration."""
    return await _run(state, "refresh_popular_items")


@post(
    "/admin/update-user-profiles", tags=["admin"], summary="Refresh user profiles now", status_code=200,
    responses=problem_responses(),
)  # fmt: skip
async def update_user_profiles(state: State) -> Response[JobRun]:
    """Sync from main and refresh the profile view (job refresh_user_profiles); rows and duration."""
    return await _run(state, "refresh_user_profiles")


@post(
    "/admin/update-user-similarities",
    tags=["admin"],
    summary="Refresh user similarities now",
    status_code=200,
    responses=problem_responses(),
)
async def update_user_similarities(state: State) -> Response[JobRun]:
    """Sync from main and recompute neighbours (job refresh_user_similarities); users and duration."""
    return await _run(state, "refresh_user_similarities")
