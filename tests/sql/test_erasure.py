"""Erasure in SQL: api.erase_user removes what the recs DB holds of a user at once and the jobs the
rest; data main still has comes back at a full resync; the erase_absent_users job erases only users
absent from main longer than absent_user_retention_days."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

import psycopg
import pytest

from tests.conftest import app_connect, owner_connect
from tests.data import NOW, World

# Where the recs DB holds something of a user, by user key (item_vectors: the key in its arrays).
HOLDINGS = {
    "users": "SELECT count(*) FROM recs.users WHERE user_key = %(key)s",
    "demographics": "SELECT count(*) FROM recs.user_demographics WHERE user_key = %(key)s",
    "interactions": "SELECT count(*) FROM recs.interactions WHERE user_key = %(key)s",
    "profile": "SELECT count(*) FROM recs.user_profiles WHERE user_key = %(key)s",
    "pool": "SELECT count(*) FROM recs.user_neighbors WHERE user_key = %(key)s",
    "in_pools": "SELECT count(*) FROM recs.user_neighbors WHERE %(key)s = ANY (neighbor_keys)",
    "votes": "SELECT count(*) FROM recs.neighbor_votes WHERE user_key = %(key)s",
    "stats": "SELECT count(*) FROM recs.user_stats WHERE user_key = %(key)s",
    "vectors": "SELECT count(*) FROM recs.user_vectors WHERE user_key = %(key)s",
    "item_vectors": "SELECT count(*) FROM recs.item_vectors WHERE %(key)s = ANY (user_keys)",
    "dirty": "SELECT count(*) FROM recs.dirty_users WHERE user_key = %(key)s",
    "dirty_profile": "SELECT count(*) FROM recs.dirty_profiles WHERE user_key = %(key)s",
    "popular_segment": "SELECT count(*) FROM recs.popular_user_segments WHERE user_key = %(key)s",
}


@pytest.fixture
def crowd(world: World) -> dict[str, uuid.UUID]:
    """alice (demographics, 4 likes a day ago), three like-minded twins, bob (likes and clicks, no
    demographics), every refresh run: everyone has a profile, a pool and vectors. Alice's likes are
    older than the sync's overlap window, so no incremental sync reads them again."""
    presents = [world.present(price=10 + index) for index in range(6)]
    (alice,) = world.users(1, "f", "25-34")
    twins = world.users(3, "f", "25-34")
    (bob,) = world.users(1)
    for present in presents[:4]:
        world.like(alice, present, at=NOW - dt.timedelta(days=1))
    for twin in twins:
        for present in presents:
            world.like(twin, present)
    for present in presents[:3]:
        world.like(bob, present)
        world.click(bob, present, times=2)
    world.presents_weigh_evenly()  # everyone took the first three: under IUF they would weigh 0
    world.refresh_all()
    return {"alice": alice, "bob": bob, "twin": twins[0]}


def user_key(world: World, user: uuid.UUID) -> int | None:
    row = world.recs.execute("SELECT user_key FROM recs.users WHERE user_id = %s", (user,)).fetchone()
    return None if row is None else int(row[0])


def holdings(world: World, key: int) -> dict[str, int]:
    counts = {}
    for name, query in HOLDINGS.items():
        row = world.recs.execute(query, {"key": key}).fetchone()  # type: ignore[call-overload]
        assert row is not None
        counts[name] = int(row[0])
    return counts


def erase(user: uuid.UUID | None) -> bool:
    """api.erase_user as the app role calls it."""
    with app_connect() as app:
        row = app.execute("SELECT erased FROM api.erase_user(%s)", (user,)).fetchone()
    assert row is not None
    return bool(row[0])


def fingerprint(user: uuid.UUID) -> str:
    with app_connect() as app:
        row = app.execute(
            "SELECT fresh_fingerprint FROM api.personalized_cache_state(%s, true)", (user,)
        ).fetchone()
    assert row is not None
    return str(row[0])


def segment_users(world: World, gender: str, age_group: str) -> int:
    row = world.recs.execute(
        "SELECT users FROM recs.popular_segments WHERE gender = %s AND age_group = %s", (gender, age_group)
    ).fetchone()
    return 0 if row is None else int(row[0])


def test_erase_user_removes_the_users_rows_at_once_and_the_derived_ones_at_the_next_runs(
    world: World, crowd: dict[str, uuid.UUID]
) -> None:
    alice, twin = crowd["alice"], crowd["twin"]
    key, twin_key = user_key(world, alice), user_key(world, twin)
    assert key is not None and twin_key is not None
    before = holdings(world, key)
    assert before == {
        "users": 1, "demographics": 1, "interactions": 4, "profile": 1, "pool": 1, "in_pools": 4, "votes": 1,
        "stats": 1, "vectors": 4, "item_vectors": 4, "dirty": 0, "dirty_profile": 0, "popular_segment": 1,
    }  # fmt: skip
    twin_before = holdings(world, twin_key)
    assert segment_users(world, "f", "25-34") == 4

    assert erase(alice) is True
    at_once = holdings(world, key)
    gone_now = {name: 0 for name in HOLDINGS if name not in ("in_pools", "stats", "vectors", "item_vectors")}
    assert {name: at_once[name] for name in gone_now} == gone_now | {"dirty": 1}
    with app_connect() as app, pytest.raises(psycopg.errors.NoDataFound):
        app.execute("SELECT * FROM api.user_profile(%s)", (alice,))
    log = world.recs.execute("SELECT source, users, interactions FROM recs.user_erasures").fetchall()
    assert log == [("api", 1, 4)]

    world.refresh_all()  # incremental: alice's old events in main are not read again
    assert user_key(world, alice) is None
    after = holdings(world, key)
    assert after == {name: 0 for name in HOLDINGS} | {"in_pools": 4}  # other pools: next full run
    assert segment_users(world, "f", "25-34") == 3  # her share of popularity gone, no new event
    own = ("users", "demographics", "interactions", "profile", "pool", "stats", "vectors")
    assert {name: holdings(world, twin_key)[name] for name in own} == {
        name: twin_before[name] for name in own
    }

    world.recs.execute("UPDATE recs.sync_state SET full_synced_at = NULL WHERE source = 'user_similarities'")
    world.refresh("refresh_user_similarities")  # a full run
    assert holdings(world, key)["in_pools"] == 0


def test_what_main_still_has_comes_back_at_the_next_full_resync_and_what_rails_deleted_does_not(
    world: World, crowd: dict[str, uuid.UUID]
) -> None:
    alice, bob = crowd["alice"], crowd["bob"]
    old_key = user_key(world, alice)
    assert erase(alice) and erase(bob)
    world.main.execute("DELETE FROM handpicked_likes WHERE user_id = %s", (bob,))  # Rails deleted bob
    world.main.execute("DELETE FROM handpicked_present_clicks WHERE user_id = %s", (bob,))
    world.recs.execute("DELETE FROM recs.sync_state")  # the next sync is a full resync
    world.refresh()
    new_key = user_key(world, alice)
    assert new_key is not None and new_key != old_key  # a new key: no old cache key can be rebuilt
    assert holdings(world, new_key)["interactions"] == 4
    assert holdings(world, new_key)["demographics"] == 0  # demographics come only from PUT
    assert user_key(world, bob) is None


def test_erase_user_is_idempotent_and_an_unknown_user_is_no_error(
    world: World, crowd: dict[str, uuid.UUID]
) -> None:
    assert erase(uuid.uuid4()) is False
    assert erase(crowd["alice"]) is True
    assert erase(crowd["alice"]) is False
    assert world.recs.execute("SELECT count(*) FROM recs.user_erasures").fetchone() == (1,)
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="user_id is required"):
        erase(None)


def test_an_erased_users_cache_fingerprint_is_never_built_again(
    world: World, crowd: dict[str, uuid.UUID]
) -> None:
    bob, alice = crowd["bob"], crowd["alice"]  # without and with demographics
    for user in (bob, alice):
        before = fingerprint(user)
        erase(user)
        after = fingerprint(user)
        assert after != before
        with app_connect() as app:
            app.execute("SELECT FROM api.upsert_user_demographics(%s, NULL, NULL, NULL, NULL, NULL)", (user,))
        assert fingerprint(user) not in {before, after}  # known again, under a new key


def test_the_app_role_may_erase_one_user_only_through_the_api(
    databases: tuple[psycopg.Connection, ...],
) -> None:
    with app_connect() as app:
        for forbidden in (
            "SELECT * FROM recs.erase_users('{1}', 'api')",
            "SELECT recs.job_erase_absent_users()",
            "SELECT * FROM recs.user_erasures",
            "SELECT * FROM main.users",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute(forbidden)  # type: ignore[call-overload]


def absences(world: World) -> dict[uuid.UUID, dt.datetime | None]:
    return dict(world.recs.execute("SELECT user_id, absent_from_main_since FROM recs.users").fetchall())


def test_the_retention_job_erases_only_users_absent_from_main_longer_than_the_setting(world: World) -> None:
    present = world.present()
    long_gone, recently_gone, newly_gone, returned, staying = world.users(5, "m", "35-44")
    for user in (long_gone, newly_gone, staying):
        world.like(user, present)
    world.refresh_all()
    world.in_main(returned, staying)
    world.recs.execute("SELECT * FROM recs.set_setting('absent_user_retention_days', '10')")
    for user, days in ((long_gone, 11), (recently_gone, 9), (returned, 30)):
        world.recs.execute(
            "UPDATE recs.users SET absent_from_main_since = now() - make_interval(days => %s)"
            " WHERE user_id = %s",
            (days, user),
        )
    recently_marked = absences(world)[recently_gone]

    world.refresh("erase_absent_users")
    run = world.recs.execute(
        "SELECT rows, error, details -> 'steps_ms' ? 'retention.users_erased' FROM recs.job_runs"
        " WHERE job = 'erase_absent_users'"
    ).fetchall()
    assert run == [(1, None, True)]
    marks = absences(world)
    assert long_gone not in marks
    assert marks[recently_gone] == recently_marked  # absent 9 days of 10: kept, its mark kept
    assert marks[newly_gone] is not None and marks[newly_gone] > recently_marked  # absent from today
    assert marks[returned] is None and marks[staying] is None  # found in main
    log = world.recs.execute("SELECT source, users, interactions FROM recs.user_erasures").fetchall()
    assert log == [("retention", 1, 1)]


def test_the_retention_job_refuses_an_empty_main_and_marks_nobody(world: World) -> None:
    world.users(2, "f", "18-24")
    with (
        owner_connect() as owner,
        pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match=r"main\.users is empty"),
    ):
        owner.execute("CALL recs.run_job('erase_absent_users')")
    assert set(absences(world).values()) == {None}
    error = world.recs.execute("SELECT error FROM recs.job_runs WHERE job = 'erase_absent_users'").fetchone()
    assert error is not None and "main.users is empty" in error[0]


def test_the_retention_job_says_when_the_main_reader_may_not_read_user_ids(world: World) -> None:
    (user,) = world.users(1, "f", "18-24")
    world.in_main(user)
    world.main.execute("REVOKE SELECT (id) ON users FROM mysanta_main_reader")  # before this release
    with (
        owner_connect() as owner,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match=r"reader_role\.sql"),
    ):
        owner.execute("CALL recs.run_job('erase_absent_users')")


def test_cleanup_trims_the_erasure_log_with_the_run_log(world: World) -> None:
    world.recs.execute(
        "INSERT INTO recs.user_erasures (erased_at, source, users, interactions)"
        " VALUES (now() - interval '31 days', 'api', 1, 0), (now() - interval '29 days', 'retention', 2, 5)"
    )
    world.refresh("cleanup")
    assert world.recs.execute("SELECT users FROM recs.user_erasures").fetchall() == [(2,)]


def _in_thread(statement: str, *args: object) -> tuple[threading.Thread, list[BaseException]]:
    """Run statement as the app role in a thread (it may block on the test's open transaction)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app_connect() as app:
                app.execute(statement, args)
        except BaseException as error:  # reported to the test
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def _wait_for_a_lock_wait(world: World) -> None:
    for _ in range(200):
        waiting = world.recs.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        ).fetchone()
        if waiting and waiting[0] > 0:
            return
        time.sleep(0.02)
    raise AssertionError("the concurrent statement never waited")


def test_a_put_that_meets_an_erasure_of_the_same_user_stores_the_user_anew(world: World) -> None:
    (user,) = world.users(1, "f", "25-34")
    with app_connect() as eraser:
        eraser.execute("BEGIN")
        eraser.execute("SELECT api.erase_user(%s)", (user,))
        put, errors = _in_thread(
            "SELECT FROM api.upsert_user_demographics(%s, 'm', '55+', NULL, 'en', NULL)", user
        )
        _wait_for_a_lock_wait(world)
        eraser.execute("COMMIT")
        put.join()
    assert errors == []
    stored = world.recs.execute(
        "SELECT d.gender, d.age_group FROM recs.users u JOIN recs.user_demographics d USING (user_key)"
        " WHERE u.user_id = %s",
        (user,),
    ).fetchall()
    assert stored == [("m", "55+")]


def test_an_erasure_that_meets_a_put_of_the_same_user_erases_what_the_put_wrote(world: World) -> None:
    user = uuid.uuid4()
    world.like(user, world.present())
    world.refresh()  # the user is known from their like, without demographics
    with app_connect() as writer:
        writer.execute("BEGIN")
        writer.execute("SELECT FROM api.upsert_user_demographics(%s, 'f', NULL, NULL, 'en', NULL)", (user,))
        erase, errors = _in_thread("SELECT api.erase_user(%s)", user)
        _wait_for_a_lock_wait(world)  # the erasure waits to remove the key the PUT's row refers to
        writer.execute("COMMIT")
        erase.join()
    assert errors == []
    left = world.recs.execute(
        "SELECT (SELECT count(*) FROM recs.users WHERE user_id = %(user)s),"
        " (SELECT count(*) FROM recs.user_demographics d WHERE NOT EXISTS"
        "   (SELECT 1 FROM recs.users u WHERE u.user_key = d.user_key))",
        {"user": user},
    ).fetchone()
    assert left == (0, 0)


@pytest.mark.parametrize(
    "job", ["refresh_popular_items", "refresh_user_profiles", "refresh_user_similarities"]
)
@pytest.mark.parametrize(
    ("paused_after", "liked_before"),
    [
        # The sync wrote the user's new row, not yet their marks: the erasure does not see the row.
        ("interactions", False),
        # The sync marked the user changed and locked their liked row again (the overlap window):
        # the erasure waits for the job.
        ("dirty_users", True),
    ],
)
def test_an_erasure_during_a_jobs_sync_erases_what_the_sync_wrote_and_neither_fails(
    world: World, paused_after: str, liked_before: bool, job: str
) -> None:
    presents = [world.present() for _ in range(2)]
    (user,) = world.users(1, "f", "25-34")
    if liked_before:
        world.like(user, presents[0], at=dt.datetime.now(dt.UTC))
    world.like(user, presents[1] if liked_before else presents[0], at=NOW - dt.timedelta(days=1))
    world.refresh_all()
    world.like(user, presents[1] if not liked_before else world.present(), at=dt.datetime.now(dt.UTC))
    # The job stops inside its sync, right after writing to the table, until the test lets it go.
    world.recs.execute(
        "CREATE FUNCTION public.pause_sync() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN PERFORM pg_advisory_xact_lock_shared(424242); RETURN NULL; END $$"
    )
    world.recs.execute(
        f"CREATE TRIGGER pause_sync AFTER INSERT ON recs.{paused_after}"
        " FOR EACH STATEMENT EXECUTE FUNCTION public.pause_sync()"
    )
    world.recs.execute("SELECT pg_advisory_lock(424242)")
    job_errors: list[BaseException] = []

    def run_job() -> None:
        try:
            world.refresh(job)
        except BaseException as error:  # reported to the test
            job_errors.append(error)

    running = threading.Thread(target=run_job)
    running.start()
    _wait_for_lock_waits(world, 1)  # the job, paused
    erase, errors = _in_thread("SELECT api.erase_user(%s)", user)
    time.sleep(0.3)  # the erasure runs, or waits
    world.recs.execute("SELECT pg_advisory_unlock(424242)")
    running.join()
    erase.join()
    world.recs.execute(f"DROP TRIGGER pause_sync ON recs.{paused_after}")
    assert (job_errors, errors) == ([], [])
    known = world.recs.execute("SELECT count(*) FROM recs.users WHERE user_id = %s", (user,)).fetchone()
    assert known == (0,)
    orphans = world.recs.execute(
        "SELECT count(*) FROM recs.interactions x"
        " WHERE NOT EXISTS (SELECT 1 FROM recs.users u WHERE u.user_key = x.user_key)"
    ).fetchone()
    assert orphans == (0,)  # nothing of the erased user is left for the jobs to rank


def _wait_for_lock_waits(world: World, count: int) -> None:
    for _ in range(200):
        waiting = world.recs.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        ).fetchone()
        if waiting and waiting[0] >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"{count} statements never waited")
