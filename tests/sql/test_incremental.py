"""Incremental popularity, profile and similarity runs end where a full rebuild of the same data ends."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
import pytest

from tests.conftest import app_connect, owner_connect
from tests.data import NOW, World

POPULAR = (
    "SELECT gender, age_group, item_id, present_id, score, users, price, category, platform, geo_ids"
    " FROM recs.popular_items ORDER BY gender, age_group, item_id"
)
RANKS = (
    "SELECT gender, age_group, array_agg(item_id ORDER BY score DESC, item_id)"
    " FROM recs.popular_items GROUP BY gender, age_group ORDER BY gender, age_group"
)
TABLES = {
    "segments": "SELECT * FROM recs.popular_segments ORDER BY 1, 2",
    "filter_counts": "SELECT * FROM recs.popular_filter_counts ORDER BY 1, 2",
    "region_counts": "SELECT * FROM recs.popular_region_counts ORDER BY 1, 2, 3",
    "price_counts": "SELECT * FROM recs.popular_price_counts ORDER BY 1, 2, 3",
    "profiles": "SELECT * FROM recs.user_profiles ORDER BY user_key",
    "blended": "SELECT gender, age_group, array_agg(item_id ORDER BY score DESC, item_id)"
    " FROM recs.popular_blended GROUP BY gender, age_group ORDER BY gender, age_group",
}


class Clock:
    """Event times one minute apart and always later, so every sync reads the new ones."""

    def __init__(self) -> None:
        self.at = NOW - dt.timedelta(days=1)

    def __call__(self) -> dt.datetime:
        self.at += dt.timedelta(minutes=1)
        return self.at


def state(recs: psycopg.Connection) -> dict[str, Any]:
    """What the two jobs wrote, scores apart (compared with a tolerance)."""
    rows = recs.execute(POPULAR).fetchall()
    taken: dict[str, Any] = {name: recs.execute(query).fetchall() for name, query in TABLES.items()}  # type: ignore[call-overload]
    taken["popular"] = [row[:4] + row[5:] for row in rows]
    taken["scores"] = [row[4] for row in rows]
    taken["ranks"] = recs.execute(RANKS).fetchall()
    return taken


Taken = TypeVar("Taken")
FORGET_BOTH_JOBS = "DELETE FROM recs.sync_state WHERE source IN ('popular_items', 'user_profiles')"
FORGET_FULL_SIMILARITY_RUN = (
    "UPDATE recs.sync_state SET full_synced_at = NULL, details = details - 'history_limit'"
    " WHERE source = 'user_similarities'"
)


def rebuilt(
    forget: str = FORGET_BOTH_JOBS, read: Callable[[psycopg.Connection], dict[str, Any]] = state
) -> dict[str, Any]:
    """The popularity and profile tables rebuilt whole from the same data (`forget` makes both jobs'
    next runs full ones), read by `read`, in a transaction rolled back."""
    with owner_connect() as owner:
        with owner.transaction(force_rollback=True):
            owner.execute(forget)
            owner.execute("SELECT recs.job_refresh_popular_items(), recs.job_refresh_user_profiles()")
            assert owner.execute(
                "SELECT bool_and((details ->> 'full')::boolean) FROM recs.sync_state"
                " WHERE source IN ('popular_items', 'user_profiles')"
            ).fetchone() == (True,)
            return read(owner)


def similarity_rebuilt(read: Callable[[psycopg.Connection], Taken]) -> Taken:
    """What a full similarity run writes from the same data, read by `read`, in a transaction rolled back."""
    with owner_connect() as owner, owner.transaction(force_rollback=True):
        owner.execute(FORGET_FULL_SIMILARITY_RUN)
        owner.execute("SELECT recs.job_refresh_user_similarities()")
        return read(owner)


def run_both(world: World, *, full: bool = False) -> None:
    world.refresh("refresh_popular_items")
    world.refresh("refresh_user_profiles")
    ran = world.recs.execute(
        "SELECT source, (details ->> 'full')::boolean FROM recs.sync_state"
        " WHERE source IN ('popular_items', 'user_profiles') ORDER BY 1"
    ).fetchall()
    assert ran == [("popular_items", full), ("user_profiles", full)]
    errors = world.recs.execute("SELECT job, error FROM recs.job_runs WHERE error IS NOT NULL").fetchall()
    assert errors == []


def assert_as_rebuilt(world: World) -> None:
    incremental, full = state(world.recs), rebuilt()
    # A gender, an age group and everyone: a gender x age group cell is ranked from its two groups.
    levels = {(row[0], row[1]) for row in incremental["popular"]}
    assert all("*" in level for level in levels) and len(levels) > 1, levels
    assert_same_state(incremental, full)


def assert_same_state(incremental: dict[str, Any], full: dict[str, Any]) -> None:
    """Two reads of `state`: the same rows, ranks and tables, scores within float8's rounding."""
    assert incremental["popular"] == full["popular"]
    assert incremental["scores"] == pytest.approx(full["scores"], rel=1e-9, abs=1e-12)
    assert incremental["ranks"] == full["ranks"]
    for name in TABLES:
        assert incremental[name] == full[name], name


def demographics(user: uuid.UUID, gender: str | None, age_group: str | None) -> None:
    with app_connect() as app:
        app.execute(
            "SELECT FROM api.upsert_user_demographics(%s, %s, %s, NULL, 'en', NULL)",
            (user, gender, age_group),
        )


def key_of(world: World, user: uuid.UUID) -> int:
    row = world.recs.execute("SELECT user_key FROM recs.users WHERE user_id = %s", (user,)).fetchone()
    assert row is not None
    return int(row[0])


def test_incremental_runs_end_as_a_full_rebuild_after_every_kind_of_change(world: World) -> None:
    at = Clock()
    presents = [
        world.present(
            price=10 + 5 * index,
            category=("books", "toys", "games")[index % 3],
            platform=("etsy", "amazon")[index % 2],
            geo_ids=[1, 2] if index % 4 == 0 else None,
        )
        for index in range(8)
    ]
    women = world.users(3, "f", "25-34")
    men = world.users(2, "m", "18-24")
    (gendered,) = world.users(1, "m")
    (anonymous,) = world.users(1)
    for offset, user in enumerate([*women, *men, gendered, anonymous]):
        for present in presents[offset % 3 : offset % 3 + 4]:
            world.like(user, present, at=at())
        world.click(user, presents[(offset + 5) % 8], at=at(), times=1 + offset % 3)
    run_both(world, full=True)
    assert_as_rebuilt(world)

    # New events: clicks on liked pairs, a like on a clicked pair, new pairs, a new user without
    # demographics, a new present.
    (newcomer,) = world.users(1)
    fresh = world.present(price=99, category="toys")
    world.click(women[0], presents[0], at=at(), times=2)
    world.like(women[0], presents[5], at=at())
    world.like(newcomer, fresh, at=at())
    world.like(men[0], fresh, at=at())
    world.click(anonymous, presents[7], at=at())
    run_both(world)
    assert_as_rebuilt(world)

    # Presents that become private, unavailable, or change category and price; events synced by
    # another job's run in between reach popularity too.
    world.main.execute(
        "UPDATE handpicked_presents SET user_id = %s WHERE id = %s", (uuid.uuid4(), presents[1])
    )
    world.main.execute("UPDATE handpicked_presents SET available = false WHERE id = %s", (presents[2],))
    world.main.execute(
        "UPDATE handpicked_presents SET category = 'games', price = 7 WHERE id = %s", (presents[3],)
    )
    world.like(women[1], presents[6], at=at())
    world.refresh("refresh_user_similarities")
    world.click(men[1], presents[6], at=at())
    run_both(world)
    assert_as_rebuilt(world)
    assert world.recs.execute("SELECT count(*) FROM recs.popular_changes").fetchone() == (0,)

    # Demographics that change, appear for a user who had none, and lose an attribute.
    demographics(women[2], "m", "35-44")
    demographics(anonymous, "f", "18-24")
    demographics(men[1], None, "18-24")
    run_both(world)
    assert_as_rebuilt(world)

    # An erasure: the user's rows go at once, their share of popularity at the next run.
    erased = key_of(world, women[0])
    with app_connect() as app:
        assert app.execute("SELECT erased FROM api.erase_user(%s)", (women[0],)).fetchone() == (True,)
    for table in ("popular_user_segments", "user_profiles", "dirty_profiles"):
        held = world.recs.execute(
            f"SELECT count(*) FROM recs.{table} WHERE user_key = %s", (erased,)
        ).fetchone()  # type: ignore[call-overload]
        assert held == (0,), table
    run_both(world)
    assert_as_rebuilt(world)

    # A present available again, and more events on it.
    world.main.execute("UPDATE handpicked_presents SET available = true WHERE id = %s", (presents[2],))
    world.like(newcomer, presents[2], at=at())
    run_both(world)
    assert_as_rebuilt(world)
    assert world.recs.execute(
        "SELECT count(*) FROM recs.popular_items WHERE gender = '*' AND age_group = '*'"
    ).fetchone() == (len(presents) + 1 - 1,)  # every available public present: one went private


def test_a_full_resync_rebuilds_both_and_a_weight_change_rebuilds_popularity(world: World) -> None:
    at = Clock()
    presents = [world.present(price=10 + index) for index in range(3)]
    (fan,) = world.users(1, "f", "25-34")
    for present in presents:
        world.like(fan, present, at=at())
    run_both(world, full=True)
    world.main.execute("DELETE FROM handpicked_likes WHERE handpicked_present_id = %s", (presents[0],))
    world.recs.execute(
        "UPDATE recs.sync_state SET full_synced_at = now() - interval '2 days' WHERE source = 'decay'"
    )
    run_both(world, full=True)
    assert_as_rebuilt(world)
    assert world.recs.execute("SELECT interactions FROM recs.user_profiles").fetchone() == (2,)
    with owner_connect() as owner:
        owner.execute("UPDATE recs.settings SET value = '2.0' WHERE key = 'like_weight'")
    world.refresh("refresh_popular_items")
    assert world.recs.execute(
        "SELECT (details ->> 'full')::boolean FROM recs.sync_state WHERE source = 'popular_items'"
    ).fetchone() == (True,)
    assert_as_rebuilt(world)


KEYS_AND_INDEXES = (
    "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid), indisprimary FROM pg_index"
    " WHERE indrelid IN ('recs.interactions'::regclass, 'recs.popular_items'::regclass) ORDER BY 1"
)


def test_a_first_load_builds_the_keys_and_indexes_it_dropped(world: World) -> None:
    before = world.recs.execute(KEYS_AND_INDEXES).fetchall()
    assert [name for name, _, primary in before if primary] == [
        "recs.interactions_pkey",
        "recs.popular_items_pkey",
    ]
    at = Clock()
    presents = [world.present(category=("books", "toys")[index % 2]) for index in range(4)]
    for user in world.users(3, "f", "25-34"):
        for present in presents[:3]:
            world.like(user, present, at=at())
        world.click(user, presents[3], at=at())
    empty = "SELECT (SELECT count(*) FROM recs.interactions), (SELECT count(*) FROM recs.popular_items)"
    assert world.recs.execute(empty).fetchone() == (0, 0)  # so the refresh takes the bulk loads
    world.refresh("refresh_popular_items")
    assert world.recs.execute(KEYS_AND_INDEXES).fetchall() == before
    assert world.recs.execute(
        "SELECT count(*) FROM pg_constraint WHERE contype = 'p'"
        " AND conrelid IN ('recs.interactions'::regclass, 'recs.popular_items'::regclass)"
    ).fetchone() == (2,)
    with pytest.raises(psycopg.errors.UniqueViolation):  # the keys hold again
        world.recs.execute("INSERT INTO recs.interactions SELECT * FROM recs.interactions LIMIT 1")
    world.recs.rollback()


def test_drop_primary_key_returns_the_statement_that_adds_it_again(world: World) -> None:
    with owner_connect() as owner, owner.transaction(force_rollback=True):
        owner.execute("CREATE TABLE recs.keyed (a integer, b text, PRIMARY KEY (a, b))")
        owner.execute("CREATE TABLE recs.unkeyed (a integer)")
        (statement,) = owner.execute("SELECT recs.drop_primary_key('recs.keyed')").fetchone() or ()
        assert statement == "ALTER TABLE recs.keyed ADD CONSTRAINT keyed_pkey PRIMARY KEY (a, b)"
        assert owner.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'recs.keyed'::regclass"
        ).fetchone() == (0,)
        assert owner.execute("SELECT recs.drop_primary_key('recs.unkeyed')").fetchone() == (None,)
        owner.execute("SELECT recs.create_indexes(ARRAY[%s, NULL])", (statement,))
        assert owner.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'recs.keyed'::regclass AND contype = 'p'"
        ).fetchone() == ("keyed_pkey",)


VOTES = "SELECT user_key, item_ids, steps FROM recs.neighbor_votes ORDER BY user_key"


def test_the_neighbours_votes_after_incremental_similarity_runs_are_a_full_rebuilds(world: World) -> None:
    at = Clock()
    presents = [world.present() for _ in range(6)]
    users = world.users(4)
    for offset, user in enumerate(users):
        for present in presents[offset : offset + 3]:
            world.like(user, present, at=at())
        world.click(user, presents[(offset + 4) % 6], at=at())
    world.setting("neighbor_history_limit", "3")
    world.refresh("refresh_user_similarities")

    def as_rebuilt() -> list[Any]:
        return similarity_rebuilt(lambda owner: owner.execute(VOTES).fetchall())

    first = world.recs.execute(VOTES).fetchall()
    assert first == as_rebuilt()
    # Each user's three latest interactions: two likes and the click, so two votes each.
    assert [len(item_ids) for _, item_ids, _ in first] == [2, 2, 2, 2]

    # A like pushes a liked present out of the history; a click on a liked present moves it to
    # the front; two events at one time share their place; an erasure removes the user's row.
    world.like(users[0], presents[5], at=at())
    world.click(users[1], presents[1], at=at())
    same_time = at()
    world.like(users[2], presents[0], at=same_time)
    world.like(users[2], presents[1], at=same_time)
    with app_connect() as app:
        assert app.execute("SELECT erased FROM api.erase_user(%s)", (users[3],)).fetchone() == (True,)
    erased = world.recs.execute("SELECT count(*) FROM recs.neighbor_votes").fetchone()
    assert erased == (3,)  # at once
    world.refresh("refresh_user_similarities")
    assert world.recs.execute(
        "SELECT full_synced_at < synced_at FROM recs.sync_state WHERE source = 'user_similarities'"
    ).fetchone() == (True,)  # an incremental run
    second = world.recs.execute(VOTES).fetchall()
    assert second != first
    assert second == as_rebuilt()
    steps = {row[0]: row[2] for row in second}
    assert steps[key_of(world, users[2])][:2] == [0, 0]

    # A shorter history limit rewrites every row at the next run, incremental as it is.
    world.setting("neighbor_history_limit", "1")
    world.refresh("refresh_user_similarities")
    third = world.recs.execute(VOTES).fetchall()
    assert third == as_rebuilt()
    assert all(set(row[2]) == {0} for row in third)
