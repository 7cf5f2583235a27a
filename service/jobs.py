"""The pg_cron schedule of every job, and running jobs now as pg_cron would (the owner role, logged)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg

from service.settings import Settings


@dataclass(frozen=True)
class CronJob:
    """One pg_cron job, run as the recs owner role in the recs database (or in `database`)."""

    name: str
    schedule: str
    command: str
    database: str | None = None


def _run_job_entry(job: str, schedule: str) -> CronJob:
    """The pg_cron job of a recs job: kebab-case name, `CALL recs.run_job('<job>')`."""
    return CronJob(job.replace("_", "-"), schedule, f"CALL recs.run_job('{job}')")


def cron_jobs(settings: Settings) -> list[CronJob]:
    """The jobs migrate registers; names are kebab-case and stable (same name = update)."""
    return [
        _run_job_entry("refresh_popular_items", f"*/{settings.popular_items_refresh_minutes} * * * *"),
        _run_job_entry("refresh_user_profiles", "*/30 * * * *"),
        _run_job_entry("refresh_user_similarities", "7 * * * *"),
        # A quarter of an hour after the similarity job: recomputes the lists only after a full
        # similarity run (or a change of their settings), else only checks.
        _run_job_entry("refresh_item_neighbors", "22 * * * *"),
        # A quarter of an hour after that: recomputes only after new lists (or a change of its
        # settings), else only checks.
        _run_job_entry("refresh_learned_weights", "37 * * * *"),
        _run_job_entry("cleanup", "17 */6 * * *"),
        _run_job_entry("erase_absent_users", "29 3 * * *"),
        _run_job_entry("purge_cron_history", "47 */6 * * *"),
        _run_job_entry("withdraw_presents", "* * * * *"),
    ]


@dataclass(frozen=True)
class LoggedRun:
    """A finished run as recs.job_runs logged it, with the time of each step it marked."""

    job: str
    rows: int
    duration_ms: float
    steps_ms: dict[str, float] = field(default_factory=dict)


def refresh_job_names(settings: Settings) -> list[str]:
    """The refresh jobs in run order, as recs.refresh_jobs() lists them."""
    with psycopg.connect(settings.recommendations_owner_database_url) as conn:
        return _refresh_job_names(conn)


def _refresh_job_names(conn: psycopg.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT job FROM recs.refresh_jobs() ORDER BY position")]


def run_jobs(settings: Settings, jobs: Sequence[str] | None = None) -> list[LoggedRun]:
    """CALL recs.run_job for each job (None: recs.refresh_jobs(), in order) as the owner role, as
    pg_cron does; stops at the first failure (psycopg raises the job's error)."""
    runs: list[LoggedRun] = []
    with psycopg.connect(settings.recommendations_owner_database_url, autocommit=True) as conn:
        for job in _refresh_job_names(conn) if jobs is None else jobs:
            conn.execute("CALL recs.run_job(%s)", (job,))
            row = conn.execute(
                "SELECT rows, duration_ms, details -> 'steps_ms' FROM recs.job_runs WHERE job = %s"
                " ORDER BY id DESC LIMIT 1",
                (job,),
            ).fetchone()
            assert row is not None
            runs.append(LoggedRun(job, row[0] or 0, row[1] or 0.0, row[2] or {}))
    return runs
