"""Job runs are logged (failures too), see their settings as they started and sync one at a time; the
app role can only execute api functions."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import app_connect, owner_connect
from tests.data import break_job_setting


def test_run_job_logs_a_successful_run(databases: tuple[psycopg.Connection, ...]) -> None:
    _, recs = databases
    recs.execute(
        "INSERT INTO recs.job_runs (job, started_at, finished_at, rows) "
        "VALUES ('old', now() - interval '90 days', now() - interval '90 days', 1)"
    )
    with owner_connect() as owner:
        owner.execute("CALL recs.run_job('cleanup')")
    rows = recs.execute("SELECT job, rows, error, duration_ms >= 0 FROM recs.job_runs ORDER BY id").fetchall()
    assert rows == [("cleanup", 1, None, True)]


def test_run_job_logs_and_reraises_a_failure(databases: tuple[psycopg.Connection, ...]) -> None:
    _, recs = databases
    break_job_setting(recs, "job_run_retention_days", "thirty")  # stored before values were checked
    with (
        owner_connect() as owner,
        pytest.raises(psycopg.errors.InvalidTextRepresentation, match="job cleanup failed"),
    ):
        owner.execute("CALL recs.run_job('cleanup')")
    rows = recs.execute("SELECT job, rows, error FROM recs.job_runs").fetchall()
    assert len(rows) == 1 and rows[0][0] == "cleanup" and rows[0][1] is None
    assert "invalid input syntax for type integer" in rows[0][2]


def test_run_job_rejects_an_unknown_job(databases: tuple[psycopg.Connection, ...]) -> None:
    with owner_connect() as owner, pytest.raises(psycopg.errors.NoDataFound, match="unknown job"):
        owner.execute("CALL recs.run_job('drop_everything')")


def test_app_role_executes_api_functions_only(databases: tuple[psycopg.Connection, ...]) -> None:
    with app_connect() as app:
        row = app.execute("SELECT main_reachable FROM api.health()").fetchone()
        assert row == (True,)
        for forbidden in (
            "SELECT * FROM recs.job_runs",
            "SELECT * FROM recs.settings",
            "SELECT * FROM main.handpicked_presents",
            "SELECT * FROM recs.items",
            "REFRESH MATERIALIZED VIEW recs.popular_items",
            "CALL recs.run_job('cleanup')",
            "SELECT recs.job_cleanup()",
            "DROP FUNCTION api.health()",
            "CREATE TABLE api.x (id int)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute(forbidden)  # type: ignore[call-overload]


def test_every_function_and_table_is_commented(databases: tuple[psycopg.Connection, ...]) -> None:
    _, recs = databases
    uncommented = recs.execute(
        """
        SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname IN ('recs', 'api') AND obj_description(p.oid, 'pg_proc') IS NULL
        UNION ALL
        SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('recs', 'api', 'main') AND c.relkind IN ('r', 'v', 'm', 'f', 'p')
          AND obj_description(c.oid, 'pg_class') IS NULL
        """
    ).fetchall()
    assert uncommented == []


def test_a_job_reads_the_settings_as_they_were_when_it_started(
    databases: tuple[psycopg.Connection, ...],
) -> None:
    with owner_connect() as job, owner_connect() as dba:
        job.autocommit = False
        job.execute("SELECT recs.set_job_limits()")  # what every refresh job does first
        dba.execute("UPDATE recs.settings SET value = '7' WHERE key = 'min_segment_users'")
        assert job.execute("SELECT recs.setting('min_segment_users')").fetchone() == ("20",)
        job.rollback()
        assert job.execute("SELECT recs.setting('min_segment_users')").fetchone() == ("7",)  # the next run


def test_a_sync_holds_off_a_forced_resync_until_its_job_ends(
    databases: tuple[psycopg.Connection, ...],
) -> None:
    with owner_connect() as first, owner_connect() as job, owner_connect() as dba:
        first.execute("SELECT recs.sync_main()")  # a sync state to delete
        job.autocommit = False
        job.execute("SELECT recs.sync_main()")
        dba.execute("SET lock_timeout = '200ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            dba.execute("DELETE FROM recs.sync_state")
        job.commit()
        dba.execute("DELETE FROM recs.sync_state")


def test_jobs_refuse_other_roles_up_front_and_run_after_set_role(
    databases: tuple[psycopg.Connection, ...],
) -> None:
    _, recs = databases  # a superuser, as a DBA often connects
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="SET ROLE mysanta_owner first"):
        recs.execute("CALL recs.run_job('cleanup')")
    assert recs.execute("SELECT count(*) FROM recs.job_runs").fetchone() == (0,)  # nothing logged
    recs.execute("SET ROLE mysanta_owner")
    try:
        recs.execute("CALL recs.run_job('cleanup')")
    finally:
        recs.execute("RESET ROLE")
    assert recs.execute("SELECT job, error FROM recs.job_runs").fetchall() == [("cleanup", None)]
