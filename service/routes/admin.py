"""Admin routes: job status and running a job now (the same SQL pg_cron runs)."""

from __future__ import annotations

import datetime
import logging
from typing import Annotated, Any

import asyncpg
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import Parameter

from service.auth import ADMIN_SECURITY
from service.clients import Clients
from service.db import fetch_row_on_own_connection, fetch_rows
from service.errors import problem_response
from service.logs import request_id
from service.main_reads import fdw_session_with_main_lost
from service.models import JOB_NAMES, JobRun, JobStatus

log = logging.getLogger("service.admin")


@get(
    "/admin/jobs",
    tags=["admin"],
    summary="Status of every job",
    operation_id="listJobs",
    security=ADMIN_SECURITY,
)
async def job_status(clients: NamedDependency[Clients]) -> list[JobStatus]:
    """Per job: last run (start, duration, rows, error code), run/failure/skip counts, schedule and
    next start."""
    return await fetch_rows(clients.pool, JobStatus, "job_status")


async def _run_job_now(clients: Clients, request: Request[Any, Any, Any], job: str) -> Response[Any]:
    """Run the job on a connection bounded by JOB_STATEMENT_TIMEOUT_S, not by the request pool's
    statement timeout; 500 (failed) or 409 (another run in progress) without the database's text."""
    started_at = datetime.datetime.now(datetime.UTC)
    try:
        run = await fetch_row_on_own_connection(
            clients.settings, clients.settings.job_statement_timeout_s, JobRun, "run_job", job
        )
    except asyncpg.PostgresError as error:
        if not fdw_session_with_main_lost(error):
            raise
        # postgres_fdw refused to commit after the session with main broke: the run's log row went
        # with the transaction, so it is written again on a connection of its own.
        run = await fetch_row_on_own_connection(
            clients.settings, 10, JobRun, "log_failed_job_run", job, started_at, error.sqlstate, str(error)
        )
    if run.status == "skipped":
        return problem_response(
            409, "Job already running", f"another run of job {job} is in progress; this one was skipped",
            request=request,
        )  # fmt: skip
    if run.status == "failed":
        details = {"job": job, "run_id": run.run_id, "sqlstate": run.error_code}
        log.error("job.failed", extra=details | {"request_id": request_id(request.scope)})
        return problem_response(
            500, "Job failed",
            f"job {job} failed (run {run.run_id}, SQLSTATE {run.error_code}); its error is in recs.job_runs",
            request=request,
        )  # fmt: skip
    return Response(run)


@post(
    "/admin/jobs/{job:str}", tags=["admin"], summary="Run a job now", status_code=200,
    operation_id="runJob", security=ADMIN_SECURITY,
)  # fmt: skip
async def run_job(
    clients: NamedDependency[Clients],
    request: Request[Any, Any, Any],
    job: Annotated[str, Parameter(description="The job to run, as GET /admin/jobs names it.")],
) -> Response[JobRun]:
    """Run the job's SQL function as pg_cron would; 500 if it failed, 409 if a run is in progress."""
    if job not in JOB_NAMES:
        message = f"unknown job; the jobs are: {', '.join(JOB_NAMES)}; got {job[:64]!r}"
        raise ValidationException(
            f"job: {message}", extra=[{"key": "job", "message": message, "source": "path"}]
        )
    return await _run_job_now(clients, request, job)


@post(
    "/admin/refresh-popular-items", tags=["admin"], summary="Refresh popularity now", status_code=200,
    operation_id="refreshPopularItems", security=ADMIN_SECURITY,
)  # fmt: skip
async def refresh_popular_items(
    clients: NamedDependency[Clients], request: Request[Any, Any, Any]
) -> Response[JobRun]:
    """Sync from main and update the popularity tables (job refresh_popular_items); rows and duration."""
    return await _run_job_now(clients, request, "refresh_popular_items")


@post(
    "/admin/update-user-profiles", tags=["admin"], summary="Refresh user profiles now", status_code=200,
    operation_id="updateUserProfiles", security=ADMIN_SECURITY,
)  # fmt: skip
async def update_user_profiles(
    clients: NamedDependency[Clients], request: Request[Any, Any, Any]
) -> Response[JobRun]:
    """Sync from main and update the changed profiles (job refresh_user_profiles); rows and duration."""
    return await _run_job_now(clients, request, "refresh_user_profiles")


@post(
    "/admin/update-user-similarities",
    tags=["admin"],
    summary="Refresh user similarities now",
    status_code=200,
    operation_id="updateUserSimilarities",
    security=ADMIN_SECURITY,
)
async def update_user_similarities(
    clients: NamedDependency[Clients], request: Request[Any, Any, Any]
) -> Response[JobRun]:
    """Sync from main and recompute neighbours (job refresh_user_similarities); users and duration."""
    return await _run_job_now(clients, request, "refresh_user_similarities")
