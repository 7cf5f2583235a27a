"""Job runs are logged (failures too), see their settings as they started and sync one at a time; the
app role can only execute api functions."""

from __future__ import annotations

import msgspec
import psycopg
import pytest

from service.migrate import apply_env_settings
from service.settings import Settings
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


def test_pg_cron_sessions_start_with_the_job_timeout_and_a_timed_out_run_is_logged(
    databases: tuple[psycopg.Connection, ...], settings: Settings
) -> None:
    _, recs = databases
    with owner_connect() as owner:
        changed = apply_env_settings(owner, msgspec.structs.replace(settings, job_statement_timeout_s=1))
        assert "job_statement_timeout_s" in changed
        assert "job_statement_timeout_s" not in apply_env_settings(
            owner, msgspec.structs.replace(settings, job_statement_timeout_s=1)
        )  # already so: nothing changes
    recs.execute("SELECT pg_advisory_lock(recs.sync_lock_key())")  # the job waits on it
    try:
        with owner_connect() as cron_session:  # a new session, as pg_cron opens for each run
            assert cron_session.execute("SHOW statement_timeout").fetchone() == ("1s",)
            with pytest.raises(psycopg.errors.QueryCanceled, match="job refresh_popular_items failed"):
                cron_session.execute("CALL recs.run_job('refresh_popular_items')")
    finally:
        recs.execute("SELECT pg_advisory_unlock(recs.sync_lock_key())")
    logged = recs.execute(
        "SELECT error, details ->> 'sqlstate' FROM recs.job_runs WHERE job = 'refresh_popular_items'"
    ).fetchall()
    assert logged == [("canceling statement due to statement timeout", "57014")]


def test_a_second_run_of_a_job_in_progress_is_skipped_and_logged(
    databases: tuple[psycopg.Connection, ...],
) -> None:
    _, recs = databases
    with owner_connect() as first, owner_connect() as second:
        first.execute("BEGIN")
        first.execute("SELECT recs.execute_job('cleanup')")  # holds the job's lock until it commits
        second.execute("CALL recs.run_job('cleanup')")  # neither waits nor fails
        first.execute("COMMIT")
    logged = recs.execute(
        "SELECT recs.job_run_status(error, details) FROM recs.job_runs WHERE job = 'cleanup' ORDER BY id"
    ).fetchall()
    assert logged == [("succeeded",), ("skipped",)]  # the first run drew its id first, committed last
    status = recs.execute(
        "SELECT runs, skipped, failures FROM recs.job_status WHERE job = 'cleanup'"
    ).fetchone()
    assert status == (1, 1, 0)
