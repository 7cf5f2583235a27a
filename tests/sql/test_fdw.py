"""postgres_fdw: the recs database reads the main database and can never write it."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from tests.conftest import PG_PORT, READER_PASSWORD, app_connect, owner_connect
from tests.data import World


def _insert_present(main: psycopg.Connection, user_id: uuid.UUID | None = None) -> uuid.UUID:
    present_id = uuid.uuid4()
    main.execute(
        "INSERT INTO handpicked_presents (id, user_id, title, price, category, platform) "
        "VALUES (%s, %s, 'Mug', 12.50, 'home', 'etsy')",
        (present_id, user_id),
    )
    return present_id


def test_fdw_reads_main_data(databases: tuple[psycopg.Connection, ...]) -> None:
    main, _ = databases
    public_id = _insert_present(main)
    private_id = _insert_present(main, user_id=uuid.uuid4())
    with owner_connect() as owner:
        rows = owner.execute(
            "SELECT id, user_id IS NULL, price, category FROM main.handpicked_presents "
            "ORDER BY user_id NULLS FIRST"
        ).fetchall()
    assert [(row[0], row[1]) for row in rows] == [(public_id, True), (private_id, False)]
    assert str(rows[0][2]) == "12.50" and rows[0][3] == "home"


def test_fdw_cannot_write_main(databases: tuple[psycopg.Connection, ...]) -> None:
    main, _ = databases
    present_id = _insert_present(main)
    with owner_connect() as owner:
        for statement in (
            "INSERT INTO main.handpicked_likes (id, user_id, handpicked_present_id, created_at) "
            f"VALUES (gen_random_uuid(), gen_random_uuid(), '{present_id}', now())",
            "UPDATE main.handpicked_presents SET price = 0",
            "DELETE FROM main.handpicked_presents",
        ):
            with pytest.raises(psycopg.Error) as raised:
                owner.execute(statement)  # type: ignore[call-overload]
            assert "read-only transaction" in str(raised.value) or "permission denied" in str(raised.value)
    row = main.execute("SELECT price FROM handpicked_presents").fetchone()
    assert row is not None and str(row[0]) == "12.50"


def test_reader_role_is_read_only_on_main(databases: tuple[psycopg.Connection, ...]) -> None:
    with psycopg.connect(
        f"postgresql://mysanta_main_reader:{READER_PASSWORD}@127.0.0.1:{PG_PORT}/test_main", autocommit=True
    ) as reader:
        reader.execute("SELECT count(*) FROM handpicked_presents")
        with pytest.raises(psycopg.Error):
            reader.execute("SET default_transaction_read_only = off")
            reader.execute("INSERT INTO handpicked_presents (id, title) VALUES (gen_random_uuid(), 'x')")


def test_fdw_requires_a_password_for_the_reader(databases: tuple[psycopg.Connection, ...]) -> None:
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(f"postgresql://mysanta_main_reader@127.0.0.1:{PG_PORT}/test_main", connect_timeout=3)


def test_the_live_read_of_a_users_events_is_one_remote_query(world: World) -> None:
    liked, clicked = world.present(), world.present()
    user = world.users(1)[0]
    world.refresh_all()
    world.like(user, liked)  # in main only: newer than the sync
    world.click(user, clicked, times=2)
    recs = world.recs
    recs.execute("LOAD 'auto_explain'")
    recs.execute(
        "SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on;"
        " SET auto_explain.log_verbose = on; SET client_min_messages = log"
    )
    plans: list[str] = []
    recs.add_notice_handler(lambda notice: plans.append(notice.message_primary or ""))
    recs.execute("SET ROLE mysanta_owner")
    try:
        rows = recs.execute(
            "SELECT i.present_id, f.liked FROM recs.fresh_interactions(%s) f"
            " JOIN recs.items i USING (item_id) ORDER BY f.liked, i.present_id",
            (user,),
        ).fetchall()
    finally:
        recs.execute("RESET ROLE")
        recs.execute("SET auto_explain.log_min_duration = -1")
    assert sorted(rows) == sorted([(liked, True), (clicked, False), (clicked, False)])
    inner = [plan for plan in plans if "main.handpicked_likes" in plan]
    assert inner and all(plan.count("Foreign Scan") == 1 for plan in inner)
    assert any("FULL JOIN (main.handpicked_present_clicks" in plan for plan in inner)


def test_a_sync_behind_a_rails_migrations_lock_fails_fast_and_is_logged(world: World) -> None:
    """The reader role has a lock_timeout on main (sql/main/reader_role.sql sets it): a refresh that
    meets an ACCESS EXCLUSIVE lock fails and is logged instead of waiting with the sync's own lock
    held; the next run, the lock gone, succeeds."""
    setting = world.main.execute(
        "SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole"
        " WHERE r.rolname = 'mysanta_main_reader' AND s.setdatabase = 0"
    ).fetchone()
    assert setting is not None and "lock_timeout=10s" in setting[0]
    # Shorter for the test (a DBA may choose so too); the FDW's next connection to main takes it.
    world.main.execute("ALTER ROLE mysanta_main_reader SET lock_timeout = '300ms'")
    try:
        world.like(world.users(1)[0], world.present())
        with psycopg.connect(world.main.info.dsn) as migration:
            migration.execute("LOCK TABLE handpicked_likes IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(psycopg.Error) as raised:
                world.refresh("refresh_user_profiles")
        assert raised.value.sqlstate == "55P03", raised.value  # lock_not_available, on main
        logged = world.recs.execute(
            "SELECT details ->> 'sqlstate', duration_ms < 5000 FROM recs.job_runs"
            " WHERE job = 'refresh_user_profiles' ORDER BY id DESC LIMIT 1"
        ).fetchone()
        assert logged == ("55P03", True)
        world.refresh("refresh_user_profiles")
    finally:
        world.main.execute("ALTER ROLE mysanta_main_reader SET lock_timeout = '10s'")


def test_a_job_outlasting_mains_idle_in_transaction_timeout_still_commits(world: World) -> None:
    """A refresh job reads main at its start and computes here before it commits, its remote
    transaction idle on main meanwhile: an idle_in_transaction_session_timeout of main's DBA for
    every role, shorter than that, must not end the link under the job, which would fail at its
    commit with all its work lost, on every run. The reader role has none of its own
    (sql/main/reader_role.sql), which wins over the database's and the server's."""
    user = world.users(1)[0]
    world.like(user, world.present())
    world.refresh()
    main_db = f'"{world.main.info.dbname}"'
    world.main.execute(f"ALTER DATABASE {main_db} SET idle_in_transaction_session_timeout = '300ms'")
    try:
        world.like(user, world.present())
        with owner_connect() as owner:  # a new session: its link to main is opened under the setting
            with owner.transaction():  # a job: the sync, then a second of work here
                owner.execute("SELECT recs.sync_main()")
                owner.execute("SELECT pg_sleep(1)")
            synced = owner.execute("SELECT count(liked_at) FROM recs.interactions").fetchone()
        assert synced == (2,)
    finally:
        world.main.execute(f"ALTER DATABASE {main_db} RESET idle_in_transaction_session_timeout")


def test_a_count_of_mains_totals_that_main_cancels_leaves_the_sync_to_go_on(world: World) -> None:
    """The totals of GET /stats count main's tables hourly, in the sync: on a large main, a
    statement_timeout of main's for the reader shorter than a count (while every read of the sync
    itself is short) cancelled the count, failed the sync, and so every job from then on, the last
    count staying an hour old. The totals stay as they were, the sync goes on, and the count is
    tried again an hour later, not at every sync (each try costs main its statement_timeout)."""
    owner = world.users(1, "f", "25-34")[0]
    world.present(owner=owner)
    world.present(owner=owner)
    user = world.users(1)[0]
    world.like(user, world.present())
    world.refresh()
    # A count that takes main longer than the reader may run a statement: each private present
    # costs 0.4 s to read here, which only the count of private presents reads.
    world.main.execute("ALTER TABLE handpicked_presents RENAME TO handpicked_present_rows")
    world.main.execute(
        "CREATE FUNCTION slow_if_private(p_user_id uuid) RETURNS boolean LANGUAGE plpgsql AS"
        " $$ BEGIN IF p_user_id IS NOT NULL THEN PERFORM pg_sleep(0.4); END IF; RETURN true; END $$"
    )
    world.main.execute(
        "CREATE VIEW handpicked_presents AS"
        " SELECT * FROM handpicked_present_rows WHERE slow_if_private(user_id)"
    )
    world.main.execute(
        "GRANT SELECT (id, user_id, price, category, platform, geo_ids, available, created_at, updated_at)"
        " ON handpicked_presents TO mysanta_main_reader"
    )
    reader = f'ALTER ROLE mysanta_main_reader IN DATABASE "{world.main.info.dbname}"'
    world.main.execute(f"{reader} SET statement_timeout = '300ms'")
    try:
        world.recs.execute(
            "UPDATE recs.source_totals SET counted_at = counted_at - interval '2 hours',"
            " attempted_at = attempted_at - interval '2 hours'"
        )
        totals = "SELECT name, total FROM recs.source_totals ORDER BY name"
        before = world.recs.execute(totals).fetchall()
        last_steps = "SELECT details -> 'steps_ms' FROM recs.job_runs ORDER BY id DESC LIMIT 1"
        world.like(user, world.present())
        world.refresh()  # a new session: its link to main has the statement_timeout
        assert world.recs.execute("SELECT count(liked_at) FROM recs.interactions").fetchone() == (2,)
        assert world.recs.execute(totals).fetchall() == before  # not counted: as they were
        steps = world.recs.execute(last_steps).fetchone()
        assert steps is not None and "sync.totals_cancelled_by_main" in steps[0]
        world.like(user, world.present())
        world.refresh()  # within the hour: not tried again
        assert world.recs.execute("SELECT count(liked_at) FROM recs.interactions").fetchone() == (3,)
        steps = world.recs.execute(last_steps).fetchone()
        assert steps is not None and "sync.totals_cancelled_by_main" not in steps[0]
    finally:
        world.main.execute(f"{reader} RESET statement_timeout")


def test_mains_own_cancel_is_main_failing_and_a_cancel_of_the_statement_itself_is_raised(
    world: World,
) -> None:
    """recs.cancelled_by_main: behind a lock on main, the live read is cancelled either by main (its
    statement_timeout for the reader: reported as main unread, fresh_checked false) or by this
    database (the caller's statement_timeout, as the API's time limit does: raised, 57014)."""
    user = world.users(1)[0]
    world.like(user, world.present())
    world.refresh()
    state = "SELECT fresh_checked FROM api.personalized_cache_state(%s, true)"
    with psycopg.connect(world.main.info.dsn) as migration:
        migration.execute(
            "LOCK TABLE handpicked_likes, handpicked_present_clicks, handpicked_presents"
            " IN ACCESS EXCLUSIVE MODE"
        )
        with app_connect() as app:
            app.execute("SET statement_timeout = '300ms'")
            with pytest.raises(psycopg.errors.QueryCanceled):
                app.execute(state, (user,))
        main_db = world.main.info.dbname
        world.main.execute(
            f"ALTER ROLE mysanta_main_reader IN DATABASE \"{main_db}\" SET statement_timeout = '200ms'"
        )
        try:
            with app_connect() as app:  # a new session: the FDW's connection to main takes the setting
                assert app.execute(state, (user,)).fetchone() == (False,)
                health = app.execute("SELECT main_reachable FROM api.health()").fetchone()
                assert health == (False,)
        finally:
            world.main.execute(
                f'ALTER ROLE mysanta_main_reader IN DATABASE "{main_db}" RESET statement_timeout'
            )
