"""Admin routes: job status and running a job now (the same SQL pg_cron runs)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import Parameter

from service.auth import ADMIN_SECURITY
from service.clients import Clients
from service.db import fetch_row, fetch_rows
from service.errors import problem_response, problem_responses
from service.models import JobRun, JobStatus


@get(
    "/admin/jobs",
    tags=["admin"],
    summary="Status of every job",
    responses=problem_responses(403),
    security=ADMIN_SECURITY,
)
async def job_status(clients: NamedDependency[Clients]) -> list[JobStatus]:
    """Per job: last run (start, duration, rows, error), run/failure counts, schedule, next start."""
    return await fetch_rows(clients.pool, JobStatus, "job_status")


async def _run_job_now(clients: NamedDependency[Clients], job: str) -> Response[Any]:
    run = await fetch_row(clients.pool, JobRun, "run_job", job)
    if run.error:
        return problem_response(500, "Job failed", f"job {job} failed: {run.error}")
    return Response(run)


@post(
    "/admin/jobs/{job:str}", tags=["admin"], summary="Run a job now", status_code=200,
    responses=problem_responses(403, 404), security=ADMIN_SECURITY,
)  # fmt: skip
async def run_job(
    clients: NamedDependency[Clients],
    job: Annotated[str, Parameter(description="Job name, e.g. `cleanup`.", pattern=r"^[a-z_]{1,64}$")],
) -> Response[JobRun]:
    """Run the job's SQL function as pg_cron would; 500 with the job's error if it failed."""
    return await _run_job_now(clients, job)


@post(
    "/admin/refresh-popular-items", tags=["admin"], summary="Refresh popularity now", status_code=200,
    responses=problem_responses(403), security=ADMIN_SECURITY,
)  # fmt: skip
async def refresh_popular_items(clients: NamedDependency[Clients]) -> Response[JobRun]:
    """Sync from main and refresh the popularity views (job refresh_popular_items); rows and duration."""
    return await _run_job_now(clients, "refresh_popular_items")


@post(
    "/admin/update-user-profiles", tags=["admin"], summary="Refresh user profiles now", status_code=200,
    responses=problem_responses(403), security=ADMIN_SECURITY,
)  # fmt: skip
async def update_user_profiles(clients: NamedDependency[Clients]) -> Response[JobRun]:
    """Sync from main and refresh the profile view (job refresh_user_profiles); rows and duration."""
    return await _run_job_now(clients, "refresh_user_profiles")


@post(
    "/admin/update-user-similarities",
    tags=["admin"],
    summary="Refresh user similarities now",
    status_code=200,
    responses=problem_responses(403),
    security=ADMIN_SECURITY,
)
async def update_user_similarities(clients: NamedDependency[Clients]) -> Response[JobRun]:
    """Sync from main and recompute neighbours (job refresh_user_similarities); users and duration."""
    return await _run_job_now(clients, "refresh_user_similarities")
