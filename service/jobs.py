"""The pg_cron schedule of every job: name, cron expression and the command it runs."""

from __future__ import annotations

from dataclasses import dataclass

from service.settings import Settings


@dataclass(frozen=True)
class CronJob:
    """One pg_cron job, run in the recommendations database as its owner role."""

    name: str
    schedule: str
    command: str


def cron_jobs(settings: Settings) -> list[CronJob]:
    """The jobs migrate registers; names are kebab-case and stable (same name = update)."""
    del settings  # schedules that depend on settings (refresh intervals) read them here
    return [
        CronJob("cleanup", "17 */6 * * *", "CALL recs.run_job('cleanup')"),
    ]
