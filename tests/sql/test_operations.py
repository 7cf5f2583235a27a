"""psql as a client: refresh_all, the job status view with pg_cron's schedule and outcome, the next
start of a cron schedule, and the numbers api.stats reports against a known fixture."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.conftest import RECS_DB, SUPERUSER, app_connect, owner_connect
from tests.data import World, fill_known_world

UTC = dt.UTC


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        ("*/15 * * * *", "2026-11-27 10:07:30", "2026-11-27 10:15"),
        ("*/15 * * * *", "2026-11-27 10:15:00", "2026-11-27 10:30"),  # strictly after
        ("7 * * * *", "2026-11-27 10:07:00", "2026-11-27 11:07"),
        ("17 */6 * * *", "2026-11-27 05:00:00", "2026-11-27 06:17"),
        ("47 */6 * * *", "2026-11-27 23:50:00", "2026-11-28 00:47"),
        ("0 0 1 * *", "2026-12-15 00:00:00", "2027-01-01 00:00"),
        ("0 9 * * 1", "2026-11-27 12:00:00", "2026-11-30 09:00"),  # Friday -> Monday
        ("0 9 * * 7", "2026-11-27 12:00:00", "2026-11-29 09:00"),  # 7 is Sunday too
        ("0 0 13 * 5", "2026-11-01 00:00:00", "2026-11-06 00:00"),  # day OR weekday: a Friday first
        ("30 8-10/2 * * *", "2026-11-27 08:31:00", "2026-11-27 10:30"),
        ("5,55 * * * *", "2026-11-27 10:06:00", "2026-11-27 10:55"),
        ("@hourly", "2026-11-27 10:00:00", "2026-11-27 11:00"),
        ("@daily", "2026-11-27 10:00:00", "2026-11-28 00:00"),
        ("0 0 29 2 *", "2026-11-27 10:00:00", "2028-02-29 00:00"),
        ("0 0 31 2 *", "2026-11-27 10:00:00", None),  # never
        ("30 seconds", "2026-11-27 10:00:00", None),  # not a five-field schedule
        ("0 0 * * mon", "2026-11-27 10:00:00", None),  # names are not parsed
        ("61 * * * *", "2026-11-27 10:00:00", None),
        ("5/15 * * * *", "2026-11-27 10:00:00", None),  # a step needs * or a range, as in pg_cron
    ],
)
def test_cron_next_run(
    databases: tuple[psycopg.Connection, ...], schedule: str, after: str, expected: str | None
) -> None:
    _, recs = databases
    row = recs.execute("SELECT recs.cron_next_run(%s, %s::timestamptz)", (schedule, after + "+00")).fetchone()
    assert row is not None
    want = None if expected is None else dt.datetime.fromisoformat(expected + "+00:00")
    assert row[0] == want


def test_refresh_all_runs_every_refresh_job_as_psql_would(world: World) -> None:
    fill_known_world(world)
    with owner_connect() as owner:
        owner.execute("CALL recs.refresh_all()")
    runs = world.recs.execute("SELECT job, error FROM recs.job_runs ORDER BY id").fetchall()
    assert runs == [
        ("refresh_popular_items", None),
        ("refresh_user_profiles", None),
        ("refresh_user_similarities", None),
        ("refresh_item_neighbors", None),
        ("refresh_learned_weights", None),
    ]
    assert world.recs.execute("SELECT count(*) FROM recs.user_neighbors").fetchone() != (0,)
    assert world.recs.execute("SELECT count(*) FROM recs.item_neighbors").fetchone() != (0,)
    assert world.recs.execute("SELECT count(*) FROM recs.item_learned_weights").fetchone() != (0,)


@pytest.fixture
def cron_job() -> Iterator[tuple[int, str]]:
    """A pg_cron job of this test database that will not start during the test (next Feb 29)."""
    name = f"test-status-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(SUPERUSER.with_dbname("postgres"), autocommit=True) as su:
        row = su.execute(
            "SELECT cron.schedule_in_database(%s, '0 0 29 2 *', 'CALL recs.run_job(''cleanup'')', %s,"
            " 'mysanta_owner', true)",
            (name, RECS_DB),
        ).fetchone()
        assert row is not None
        try:
            yield row[0], name
        finally:
            su.execute("SELECT cron.unschedule(%s::bigint)", (row[0],))
            su.execute("DELETE FROM cron.job_run_details WHERE jobid = %s", (row[0],))


def job_status(connection: psycopg.Connection) -> dict[str, dict[str, Any]]:
    cursor = connection.execute("SELECT * FROM recs.job_status")
    columns = [column.name for column in cursor.description or []]
    return {row[0]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}


def test_job_status_joins_the_run_log_with_pg_crons_schedule_and_outcome(
    world: World, cron_job: tuple[int, str]
) -> None:
    jobid, name = cron_job
    with psycopg.connect(SUPERUSER.with_dbname("postgres"), autocommit=True) as su:
        su.execute(
            "INSERT INTO cron.job_run_details (jobid, database, username, command, status, return_message,"
            " start_time, end_time) VALUES"
            " (%(id)s, %(db)s, 'mysanta_owner', 'x', 'succeeded', 'CALL', now() - interval '2 hours',"
            "  now() - interval '2 hours'),"
            " (%(id)s, %(db)s, 'mysanta_owner', 'x', 'failed', 'connection failed',"
            "  now() - interval '1 hour', now() - interval '1 hour')",
            {"id": jobid, "db": RECS_DB},
        )
    with owner_connect() as owner:
        owner.execute("CALL recs.run_job('cleanup')")
        status = job_status(owner)
    assert job_status(world.recs) == status  # a superuser in psql sees the same (the owner's mapping)
    cleanup = status["cleanup"]
    assert cleanup["cron_jobname"] == name
    assert cleanup["schedule"] == "0 0 29 2 *"
    assert cleanup["scheduled"] is True
    assert cleanup["next_run_at"] == dt.datetime(2028, 2, 29, tzinfo=UTC)
    assert (cleanup["cron_last_status"], cleanup["cron_last_message"]) == ("failed", "connection failed")
    last_run = (cleanup["runs"], cleanup["failures"], cleanup["last_rows"], cleanup["last_error"])
    assert last_run == (1, 0, 0, None)
    assert cleanup["last_duration_ms"] >= 0
    # Every job function is listed, run or not, scheduled here or not.
    assert {"refresh_popular_items", "refresh_user_profiles", "refresh_user_similarities"} <= set(status)
    never = status["refresh_user_profiles"]
    assert (never["runs"], never["last_started_at"], never["schedule"]) == (0, None, None)


def test_job_status_lists_an_unnamed_pg_cron_job_and_one_row_per_job(
    world: World, cron_job: tuple[int, str]
) -> None:
    _, name = cron_job
    with psycopg.connect(SUPERUSER.with_dbname("postgres"), autocommit=True) as su:
        # As a DBA might add them: no name, and a second (inactive) job running the same recs job.
        added = [
            row[0]
            for row in su.execute(
                "INSERT INTO cron.job"
                " (schedule, command, nodename, nodeport, database, username, active, jobname) VALUES"
                " ('0 0 29 2 *', 'SELECT 1', 'localhost', 5432, %(db)s, 'mysanta_owner', false, NULL),"
                " ('0 0 29 2 *', 'CALL recs.run_job(''cleanup'')', 'localhost', 5432, %(db)s,"
                "  'mysanta_owner', false, 'cleanup-twice') RETURNING jobid",
                {"db": RECS_DB},
            ).fetchall()
        ]
        try:
            with owner_connect() as owner:
                status = job_status(owner)
        finally:
            su.execute("DELETE FROM cron.job WHERE jobid = ANY(%s)", (added,))
    assert status[f"cron-job-{added[0]}"]["schedule"] == "0 0 29 2 *"
    assert status["cleanup"]["cron_jobname"] == name  # the active one
    rows = world.recs.execute("SELECT job FROM recs.job_status").fetchall()
    assert len(rows) == len({row[0] for row in rows})


def test_job_status_survives_an_unreachable_cron_database(world: World, cron_job: tuple[int, str]) -> None:
    world.recs.execute("ALTER SERVER cron_db OPTIONS (SET port '1')")
    with owner_connect() as owner:
        status = job_status(owner)
    assert status["cleanup"]["schedule"] is None and status["cleanup"]["runs"] == 0


def test_stats_agree_with_the_database_after_a_known_fixture(world: World) -> None:
    totals = fill_known_world(world)
    with owner_connect() as owner:
        owner.execute("CALL recs.refresh_all()")
    with app_connect() as app:
        row = app.execute("SELECT api.stats()").fetchone()
    assert row is not None
    stats = row[0]
    assert stats["main_totals"] == totals
    assert stats["main_totals_counted_at"] is not None
    recs = world.recs
    for relation, rows in stats["derived_rows"].items():
        exact = recs.execute(f"SELECT count(*) FROM recs.{relation}").fetchone()
        assert exact is not None and rows == exact[0], relation
    assert stats["derived_rows"]["items"] == 3  # never a private present
    users = recs.execute(
        "SELECT (SELECT count(*) FROM recs.user_demographics), (SELECT count(*) FROM recs.user_profiles),"
        " (SELECT count(*) FROM recs.user_neighbors)"
    ).fetchone()
    assert users == (3, 4, 3)
    assert stats["users"] == {"with_demographics": 3, "with_profile": 4, "with_neighbors": 3}
    jobs = {job["job"]: job for job in stats["jobs"]}
    assert jobs["refresh_user_similarities"]["rows"] == 3
    assert jobs["refresh_user_similarities"]["error_code"] is None


def test_stats_before_any_refresh(databases: tuple[psycopg.Connection, ...]) -> None:
    with app_connect() as app:
        row = app.execute("SELECT api.stats()").fetchone()
    assert row is not None
    stats = row[0]
    assert stats["main_totals"] == {} and stats["main_totals_counted_at"] is None
    assert stats["users"] == {"with_demographics": 0, "with_profile": 0, "with_neighbors": None}
    assert {job["job"] for job in stats["jobs"]} >= {"cleanup", "refresh_popular_items"}


def test_stats_counts_users_with_demographics_as_the_last_popularity_run_did(
    databases: tuple[psycopg.Connection, ...],
) -> None:
    """api.stats reports the users with demographics the last popularity refresh counted: writes
    after it show at the next run (new users, erasures, a bulk insert), never per call."""
    _, recs = databases
    put = "SELECT FROM api.upsert_user_demographics(%s, %s, NULL, NULL, 'en', NULL)"
    users = [uuid.uuid4() for _ in range(5)]

    def reported() -> int:
        with app_connect() as app:
            row = app.execute("SELECT api.stats() -> 'users' -> 'with_demographics'").fetchone()
        assert row is not None
        return int(row[0])

    def refreshed() -> int:
        with owner_connect() as owner:
            owner.execute("CALL recs.run_job('refresh_popular_items')")
        exact = recs.execute("SELECT count(*) FROM recs.user_demographics").fetchone()
        assert exact is not None and reported() == exact[0]
        return reported()

    assert reported() == 0
    with app_connect() as app:
        for user in users:
            app.execute(put, (user, "f"))
        app.execute(put, (users[0], "m"))  # an update: not a new user
    assert reported() == 0  # not counted per call
    assert refreshed() == 5
    with owner_connect() as owner:  # many rows in one statement
        owner.execute(
            "WITH new AS (INSERT INTO recs.users (user_id)"
            " SELECT gen_random_uuid() FROM generate_series(1, 40) RETURNING user_key)"
            " INSERT INTO recs.user_demographics (user_key, gender) SELECT user_key, 'm' FROM new"
        )
    with app_connect() as app:
        app.execute("SELECT FROM api.erase_user(%s)", (users[1],))
    assert reported() == 5
    assert refreshed() == 44


@pytest.mark.parametrize(
    "statement",
    [
        "CALL recs.refresh_all()",
        "CALL recs.run_job('refresh_popular_items')",
        "CALL recs.run_job('refresh_user_profiles')",
        "CALL recs.run_job('refresh_user_similarities')",
        "CALL recs.run_job('cleanup')",
        "SELECT * FROM recs.job_status",
        "SELECT * FROM recs.job_runs",
        "SELECT * FROM recs.report_top_presents",
        "SELECT * FROM recs.report_user_tiers",
        "SELECT * FROM recs.report_catalogue_coverage",
        "SELECT * FROM recs.user_neighbors_readable",
        "SELECT api.stats()",
        "SELECT * FROM api.job_status()",
    ],
)
def test_every_psql_entry_point_works_as_the_dba_role(world: World, statement: str) -> None:
    fill_known_world(world)
    with owner_connect() as owner:
        if not statement.startswith("CALL recs.refresh_all"):
            owner.execute("CALL recs.refresh_all()")  # the views have data to show
        cursor = owner.execute(statement)  # type: ignore[call-overload]
        rows = cursor.fetchall() if statement.startswith("SELECT") else None
    if rows is not None:
        assert rows, statement
    failed = world.recs.execute("SELECT job, error FROM recs.job_runs WHERE error IS NOT NULL").fetchall()
    assert failed == []


def test_job_runs_record_where_the_time_went(world: World) -> None:
    fill_known_world(world)
    with owner_connect() as owner:
        owner.execute("CALL recs.refresh_all()")
    runs = world.recs.execute("SELECT job, details -> 'steps_ms', duration_ms FROM recs.job_runs").fetchall()
    steps = {job: by_step for job, by_step, _ in runs}
    popular_steps = {"sync.presents_read", "sync.events_read", "sync.interactions_written"}
    assert popular_steps | {"popular.computed", "popular.written"} <= set(steps["refresh_popular_items"])
    assert {"profiles.computed", "profiles.written"} <= set(steps["refresh_user_profiles"])
    assert {"similarity.vectors", "similarity.neighbors"} <= set(steps["refresh_user_similarities"])
    for job, by_step, duration_ms in runs:
        assert all(ms >= 0 for ms in by_step.values()), job
        assert sum(by_step.values()) <= duration_ms + 1, job  # the steps never add up to more than the run
