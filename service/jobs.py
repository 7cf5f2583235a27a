"""The pg_cron schedule of every job: name, cron expression and the command it runs."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from service.settings import Settings

# The refresh jobs in dependency order (`python -m service refresh` runs them all).
REFRESH_JOBS = ("refresh_popular_items", "refresh_user_profiles", "refresh_user_similarities")


@dataclass(frozen=True)
class CronJob:
    """One pg_cron job, run as the recs owner role in the recs database (or in `database`)."""

    name: str
    schedule: str
    command: str
    database: str | None = None


def cron_jobs(settings: Settings, cron_history_retention_days: int = 7) -> list[CronJob]:
    """The jobs migrate registers; names are kebab-case and stable (same name = update)."""
    return [
        CronJob(
            "refresh-popular-items",
            f"*/{settings.popular_items_refresh_minutes} * * * *",
            "CALL recs.run_job('refresh_popular_items')",
        ),
        CronJob("refresh-user-profiles", "*/30 * * * *", "CALL recs.run_job('refresh_user_profiles')"),
        CronJob("refresh-user-similarities", "7 * * * *", "CALL recs.run_job('refresh_user_similarities')"),
        CronJob("cleanup", "17 */6 * * *", "CALL recs.run_job('cleanup')"),
        # pg_cron's history lives in its own database; each role may delete only its own rows.
        CronJob(
            "purge-cron-history",
            "47 */6 * * *",
            "DELETE FROM cron.job_run_details WHERE coalesce(end_time, start_time)"
            f" < now() - interval '{int(cron_history_retention_days)} days'",
            settings.cron_database_name,
        ),
    ]


@dataclass(frozen=True)
class JobRun:
    """A finished run as recs.job_runs logged it, with the time of each step it marked."""

    job: str
    rows: int
    duration_ms: float
    steps_ms: dict[str, float] = field(default_factory=dict)


def run_jobs(settings: Settings, jobs: tuple[str, ...] | list[str]) -> list[JobRun]:
    """CALL recs.run_job for each job as the owner role (what pg_cron does); stops at a failure."""
    runs: list[JobRun] = []
    with psycopg.connect(settings.recommendations_owner_database_url, autocommit=True) as conn:
        for job in jobs:
            conn.execute("CALL recs.run_job(%s)", (job,))
            row = conn.execute(
                "SELECT rows, duration_ms, details -> 'steps_ms' FROM recs.job_runs WHERE job = %s"
                " ORDER BY id DESC LIMIT 1",
                (job,),
            ).fetchone()
            assert row is not None
            runs.append(JobRun(job, row[0] or 0, row[1] or 0.0, row[2] or {}))
    return runs
