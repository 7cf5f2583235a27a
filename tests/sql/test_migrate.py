"""The migrate step: a second run is a no-op, applied migrations are frozen, the sql/ stage recreates
what migrations drop; cron registration is idempotent and cleaned up."""

from __future__ import annotations

import uuid

import msgspec
import psycopg
import pytest

from service.jobs import cron_jobs
from service.migrate import (
    MigrationChanged,
    apply_sql_files,
    migrate,
    migration_checksums,
    schedule_cron_jobs,
    unschedule_cron_jobs,
)
from service.settings import Settings
from tests.conftest import RECS_DB, SUPERUSER, owner_connect

CATALOGUE_FINGERPRINT = """
SELECT md5(string_agg(item, '|' ORDER BY item)) FROM (
    SELECT 'proc:' || p.oid::regprocedure::text || ':' || md5(pg_get_functiondef(p.oid))
           || ':' || p.xmin::text AS item
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname IN ('recs', 'api')
    UNION ALL
    SELECT 'rel:' || c.oid::regclass::text || ':' || c.xmin::text
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname IN ('recs', 'api', 'main')
    UNION ALL
    SELECT 'server:' || srvname || ':' || array_to_string(srvoptions, ',') FROM pg_foreign_server
) items
"""


def _fingerprint(conn: psycopg.Connection) -> str:
    row = conn.execute(CATALOGUE_FINGERPRINT).fetchone()
    assert row is not None
    return str(row[0])


def test_second_migrate_run_changes_nothing(
    databases: tuple[psycopg.Connection, ...], settings: Settings
) -> None:
    _, recs = databases
    # The clone of the migrated template lacks only the owner's per-database default (CREATE
    # DATABASE ... TEMPLATE copies no role settings): the first run here sets just that.
    first = migrate(settings, schedule=False)
    assert first.env_settings == ["job_statement_timeout_s"] and not first.migrations + first.sql_files
    before = _fingerprint(recs)
    report = migrate(settings, schedule=False)
    assert not report.changed, report
    assert _fingerprint(recs) == before


def test_migrate_reapplies_a_changed_sql_file(
    databases: tuple[psycopg.Connection, ...], settings: Settings
) -> None:
    _, recs = databases
    recs.execute("UPDATE recs.applied_sql_files SET sha256 = 'stale' WHERE path = '30_api/api.health.sql'")
    report = migrate(settings, schedule=False)
    assert report.sql_files == ["30_api/api.health.sql"]
    assert not migrate(settings, schedule=False).changed


def test_every_applied_migration_is_recorded_with_its_checksum(
    databases: tuple[psycopg.Connection, ...],
) -> None:
    _, recs = databases
    recorded = dict(recs.execute("SELECT migration, sha256 FROM recs.applied_migrations").fetchall())
    assert recorded == migration_checksums()


def test_migrate_refuses_when_an_applied_migration_changed(
    databases: tuple[psycopg.Connection, ...], settings: Settings
) -> None:
    _, recs = databases
    # As if 0003 had been edited after it was applied: its file no longer matches the record.
    recs.execute(
        "UPDATE recs.applied_migrations SET sha256 = 'applied-before-the-edit'"
        " WHERE migration = '0003.snapshots-demographics-popularity.sql'"
    )
    recs.execute("UPDATE recs.applied_sql_files SET sha256 = 'stale' WHERE path = '30_api/api.health.sql'")
    with pytest.raises(
        MigrationChanged, match=r"0003\.snapshots-demographics-popularity\.sql.*new migration"
    ):
        migrate(settings, schedule=False)
    # Nothing was applied: the stale sql/ file is still stale.
    row = recs.execute(
        "SELECT sha256 FROM recs.applied_sql_files WHERE path = '30_api/api.health.sql'"
    ).fetchone()
    assert row == ("stale",)


def test_views_a_migration_drops_come_back_whatever_their_file_order(
    databases: tuple[psycopg.Connection, ...],
) -> None:
    _, recs = databases
    # A migration may drop what sql/ defines; report_catalogue_coverage reads report_top_presents
    # but sorts before it, so the first pass fails on it and the retry creates it.
    recs.execute("DROP VIEW recs.report_top_presents CASCADE")
    with owner_connect() as owner:
        applied = apply_sql_files(owner, force=True)
    assert {
        "40_reports/recs.report_catalogue_coverage.sql",
        "40_reports/recs.report_top_presents.sql",
    } <= set(applied)
    row = recs.execute("SELECT available_presents FROM recs.report_catalogue_coverage").fetchone()
    assert row == (0,)


def test_migrate_points_the_fdw_at_main_database_url(
    databases: tuple[psycopg.Connection, ...], settings: Settings
) -> None:
    _, recs = databases
    recs.execute("ALTER SERVER main_db OPTIONS (SET dbname 'elsewhere')")
    recs.execute("ALTER SERVER cron_db OPTIONS (SET dbname 'elsewhere')")
    report = migrate(settings, schedule=False)
    assert report.fdw_options == ["main_db.dbname", "cron_db.dbname"]
    options = dict(
        recs.execute("SELECT srvname, srvoptions FROM pg_foreign_server WHERE srvname LIKE '%_db'").fetchall()
    )
    assert "dbname=test_main" in options["main_db"]
    assert f"dbname={settings.cron_database_name}" in options["cron_db"]


def test_cron_jobs_registered_once_and_their_command_runs(
    databases: tuple[psycopg.Connection, ...], settings: Settings
) -> None:
    settings = msgspec.structs.replace(settings, popular_items_refresh_minutes=7)
    names = [job.name for job in cron_jobs(settings)]
    assert ("refresh-popular-items", "*/7 * * * *") in [
        (job.name, job.schedule) for job in cron_jobs(settings)
    ]
    try:
        assert sorted(schedule_cron_jobs(settings)) == sorted(names)
        assert schedule_cron_jobs(settings) == []  # identical jobs are left untouched
        with psycopg.connect(
            settings.recommendations_owner_database_url.replace(f"/{RECS_DB}", "/postgres"), autocommit=True
        ) as cron:
            rows = cron.execute(
                "SELECT jobname, schedule, command, database, username FROM cron.job WHERE jobname = ANY(%s)",
                (names,),
            ).fetchall()
        assert {row[0]: row[1:] for row in rows} == {
            job.name: (job.schedule, job.command, job.database or RECS_DB, "mysanta_owner")
            for job in cron_jobs(settings)
        }
        with owner_connect() as owner:
            for job in cron_jobs(settings):
                if job.database is None:
                    owner.execute(job.command)  # type: ignore[call-overload]
            logged = owner.execute("SELECT job, error FROM recs.job_runs").fetchall()
        assert ("cleanup", None) in logged and ("refresh_popular_items", None) in logged
    finally:
        unschedule_cron_jobs(settings, names)


def test_purge_cron_history_deletes_only_the_owners_rows_past_retention(
    databases: tuple[psycopg.Connection, ...], settings: Settings
) -> None:
    purge = next(job for job in cron_jobs(settings) if job.name == "purge-cron-history")
    assert purge.database is None and purge.command == "CALL recs.run_job('purge_cron_history')"
    marker = f"test purge {uuid.uuid4()}"
    # (role, days ago; None: a run that never finished, dated by its start)
    rows = [("mysanta_owner", 30), ("mysanta_owner", None), ("mysanta_owner", 1), ("postgres", 30)]
    with psycopg.connect(SUPERUSER.with_dbname("postgres"), autocommit=True) as su:
        for role, days in rows:
            su.execute(
                "INSERT INTO cron.job_run_details"
                " (jobid, database, username, command, status, start_time, end_time)"
                " VALUES (0, 'x', %s, %s, 'succeeded', now() - make_interval(days => %s),"
                " now() - make_interval(days => %s))",
                (role, marker, days or 30, days),
            )
        try:
            with owner_connect() as owner:
                owner.execute(purge.command)  # type: ignore[call-overload]
                logged = owner.execute(
                    "SELECT rows, error FROM recs.job_runs WHERE job = 'purge_cron_history'"
                ).fetchall()
            assert len(logged) == 1 and logged[0][0] >= 2 and logged[0][1] is None
            left = su.execute(
                "SELECT username, (now() - end_time) > interval '7 days' FROM cron.job_run_details"
                " WHERE command = %s ORDER BY 1, 2",
                (marker,),
            ).fetchall()
            assert left == [("mysanta_owner", False), ("postgres", True)]
        finally:
            su.execute("DELETE FROM cron.job_run_details WHERE command = %s", (marker,))


def test_relations_that_serve_requests_are_vacuumed_soon_after_a_refresh(
    databases: tuple[psycopg.Connection, ...],
) -> None:
    _, recs = databases
    rows = recs.execute(
        "SELECT oid::regclass::text, reloptions FROM pg_class WHERE oid = ANY(%s::regclass[]) ORDER BY 1",
        (["recs.popular_items", "recs.interactions", "recs.user_neighbors", "recs.items"],),
    ).fetchall()
    assert len(rows) == 4
    for relation, options in rows:
        assert "autovacuum_vacuum_scale_factor=0.01" in (options or []), relation
        assert "autovacuum_vacuum_insert_scale_factor=0.01" in (options or []), relation
    # A refresh keeps them: the job writes rows, it never swaps the relation.
    with owner_connect() as owner:
        owner.execute("CALL recs.run_job('refresh_popular_items')")
    options = recs.execute(
        "SELECT reloptions FROM pg_class WHERE oid = 'recs.popular_items'::regclass"
    ).fetchone()
    assert options is not None and "autovacuum_vacuum_scale_factor=0.01" in options[0]
