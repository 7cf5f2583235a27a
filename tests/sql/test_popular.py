"""Popularity in SQL: sync from main, decay, fallback chain, filters before top-N, pagination,
and never a private present."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

import psycopg
import pytest

from tests.conftest import app_connect, owner_connect
from tests.data import NOW, World
from tests.sql.test_personalized import personalized


def popular(
    gender: str | None = None,
    age_group: str | None = None,
    *,
    segment_category: str | None = None,
    geo_id: int | None = None,
    price_from: float | None = None,
    price_to: float | None = None,
    category: str | None = None,
    platform: str | None = None,
    page: int = 1,
    limit: int = 20,
) -> dict[str, Any]:
    """api.popular as the app role calls it."""
    with app_connect() as app:
        cursor = app.execute(
            "SELECT * FROM api.popular(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                gender,
                age_group,
                segment_category,
                geo_id,
                price_from,
                price_to,
                category,
                platform,
                page,
                limit,
            ),
        )
        columns = [column.name for column in cursor.description or []]
        row = cursor.fetchone()
    assert row is not None
    return dict(zip(columns, row, strict=True))


def test_a_private_present_never_appears_even_when_most_liked(world: World) -> None:
    owner = uuid.uuid4()
    private = world.present(owner=owner, price=15)
    public = [world.present(price=10 + index) for index in range(30)]
    fans = world.users(40, "f", "25-34") + world.users(10, "m", "18-24")
    for fan in fans:
        world.like(fan, private)
        world.click(fan, private, times=3)
    for index, present in enumerate(public[:10]):
        world.like(fans[index], present)
    world.setting("min_segment_users", "1")
    world.refresh()

    assert world.recs.execute(
        "SELECT count(*) FROM recs.items WHERE present_id = %s", (private,)
    ).fetchone() == (0,)
    requests = [
        {"gender": "f", "age_group": "25-34"}, {"gender": "f", "age_group": "55+"},
        {"gender": "m", "age_group": "25-34"}, {}, {"price_from": 14, "price_to": 16},
        {"category": "books"}, {"platform": "etsy"}, {"geo_id": 1}, {"gender": "m", "limit": 7},
    ]  # fmt: skip
    for request in requests:
        for page in (1, 2, 3, 4, 5):
            result = popular(**{"page": page, **request})
            assert private not in result["items"], (request, page)
    # Every public present is still served somewhere in the ranking.
    served = set(popular(limit=100)["items"])
    assert served == set(public)


def test_each_fallback_level_is_reached(world: World) -> None:
    present_a, present_b, present_c = world.present(), world.present(), world.present()
    women = world.users(3, "f", "25-34")
    man = world.users(1, "m", "18-24")[0]
    for woman in women:
        world.like(woman, present_a)
    world.like(man, present_b)
    world.click(man, present_c)
    world.setting("min_segment_users", "2")
    world.refresh()

    assert popular("f", "25-34")["fallback_level"] == "exact"
    assert popular("f", "55+")["fallback_level"] == "gender"  # empty exact segment
    assert popular("m", "25-34")["fallback_level"] == "age_group"  # one man: below support
    assert popular("m", "18-24")["fallback_level"] == "global"  # every m/18-24 segment too thin
    assert popular()["fallback_level"] == "global"
    exact = popular("f", "25-34")
    assert exact["items"][0] == present_a and exact["levels_used"][0] == "exact"
    # The exact segment knows one present; the page is topped up from the next levels, no duplicates.
    assert len(exact["items"]) == 3 == len(set(exact["items"])) == exact["total_items"]


def test_recent_likes_outrank_an_old_burst(world: World) -> None:
    old_hit, new_hit = world.present(), world.present()
    for user in world.users(10):
        world.like(user, old_hit, at=NOW - dt.timedelta(days=200))
    for user in world.users(3):
        world.like(user, new_hit, at=NOW - dt.timedelta(hours=1))
    world.setting("popularity_half_life_days", "30")
    world.refresh()
    assert popular()["items"][:2] == [new_hit, old_hit]
    # With a very long half-life the burst wins again: the knob is data, read at refresh time.
    world.setting("popularity_half_life_days", "100000")
    world.refresh()
    assert popular()["items"][:2] == [old_hit, new_hit]


def test_likes_weigh_more_than_clicks(world: World) -> None:
    liked, clicked = world.present(), world.present()
    users = world.users(2)
    world.like(users[0], liked)
    world.click(users[1], clicked, times=2)
    world.refresh()
    assert popular()["items"] == [liked, clicked]
    world.setting("popular_click_weight", "1.0")
    world.refresh()
    assert popular()["items"] == [clicked, liked]


def test_filters_apply_before_top_n_and_pages_fill(world: World) -> None:
    cheap = [world.present(price=5 + index * 0.1, category="toys", platform="ozon") for index in range(25)]
    pricey = [world.present(price=500 + index, category="toys") for index in range(30)]
    regional = world.present(price=6, category="toys", platform="ozon", geo_ids=[7])
    hidden = world.present(price=6, category="toys", platform="ozon", available=False)
    fans = world.users(50)
    for index, present in enumerate(pricey):  # the expensive ones are the most popular by far
        for fan in fans[: 50 - index]:
            world.like(fan, present)
    world.refresh()

    window = {"price_from": 5, "price_to": 10}
    first = popular(**window, limit=10)
    assert first["total_items"] == 26  # 25 cheap + the regional one (no geo filter) - never the hidden one
    pages = [popular(**window, limit=10, page=page)["items"] for page in (1, 2, 3)]
    assert [len(page) for page in pages] == [10, 10, 6]
    served = [item for page in pages for item in page]
    assert len(set(served)) == 26 and set(served) == set(cheap) | {regional}
    assert hidden not in served
    past_the_end = popular(**window, limit=10, page=4)
    assert past_the_end["items"] == [] and past_the_end["total_items"] == 26

    assert regional not in popular(**window, geo_id=3, limit=100)["items"]
    assert regional in popular(**window, geo_id=7, limit=100)["items"]
    assert popular(platform="ozon", limit=100)["total_items"] == 26
    assert popular(category="no-such-category")["items"] == []
    assert popular(platform="no-such-platform")["total_items"] == 0
    assert popular(price_from=10, price_to=5)["total_items"] == 0  # an inverted range matches nothing
    assert popular(segment_category="toys", category="books")["items"] == []
    assert set(popular(segment_category="toys", limit=100)["items"]) == set(cheap) | set(pricey) | {regional}


def test_invalid_arguments_name_themselves(world: World) -> None:
    for kwargs, message in (
        ({"page": 0}, "page must be >= 1"),
        ({"limit": 0}, "limit must be between 1 and 1000"),
        ({"price_from": -1}, "must be >= 0"),
        ({"gender": "x"}, "gender must be m, f, male or female"),
        ({"age_group": "old"}, "age_group must be one of"),
    ):
        with pytest.raises(psycopg.errors.InvalidParameterValue, match=message):
            popular(**kwargs)  # type: ignore[arg-type]


def test_incremental_sync_counts_each_event_once(world: World) -> None:
    present = world.present()
    users = world.users(3)
    world.click(users[0], present)
    world.refresh()
    # A click committed late, with a created_at older than the watermark but inside the overlap.
    world.click(users[1], present, at=NOW - dt.timedelta(minutes=2))
    world.like(users[2], present, at=NOW + dt.timedelta(seconds=1))
    world.refresh()
    world.refresh()  # re-reading the overlap window must not double count
    row = world.recs.execute(
        "SELECT sum(clicks), count(liked_at) FROM recs.interactions x JOIN recs.items i USING (item_id) "
        "WHERE i.present_id = %s",
        (present,),
    ).fetchone()
    assert row == (2, 1)


def _clicks(world: World, present: uuid.UUID) -> int | None:
    row = world.recs.execute(
        "SELECT sum(x.clicks) FROM recs.interactions x JOIN recs.items i USING (item_id)"
        " WHERE i.present_id = %s",
        (present,),
    ).fetchone()
    return None if row is None else row[0]


def test_an_event_stamped_in_the_future_hides_no_later_event(world: World) -> None:
    """A wrong clock's event moves no watermark past the sync's own time: the events after it are
    read by the next incremental sync, and the future one is counted once however often it is read."""
    ahead, later = world.present(), world.present()
    users = world.users(2)
    now = dt.datetime.now(dt.UTC)
    world.click(users[0], ahead, at=now + dt.timedelta(hours=3))
    world.refresh()
    watermark = world.recs.execute(
        "SELECT watermark <= now() FROM recs.sync_state WHERE source = 'handpicked_present_clicks'"
    ).fetchone()
    assert watermark == (True,)
    world.click(users[1], later, at=dt.datetime.now(dt.UTC))
    world.refresh()
    world.refresh()
    assert (_clicks(world, ahead), _clicks(world, later)) == (1, 1)


def test_a_full_resync_with_a_click_stamped_ahead_keeps_every_recent_clicks_id(world: World) -> None:
    """On a full resync the clicks of the window the watermark keeps are read with their ids (a click
    counted again later would count twice): the window ends at the sync's clock, not at a click
    stamped ahead of it."""
    ahead, recent = world.present(), world.present()
    users = world.users(2)
    now = dt.datetime.now(dt.UTC)
    world.click(users[0], ahead, at=now + dt.timedelta(hours=1))
    world.click(users[1], recent, at=now - dt.timedelta(minutes=1))
    for _ in range(3):  # the first sync is a full one; the others read the overlap window again
        world.refresh()
    assert (_clicks(world, ahead), _clicks(world, recent)) == (1, 1)
    world.recs.execute("DELETE FROM recs.sync_state")  # a full resync on a live table
    world.refresh()
    world.refresh()
    assert (_clicks(world, ahead), _clicks(world, recent)) == (1, 1)


@pytest.mark.parametrize("full_resync", [True, False], ids=["full resync", "incremental sync"])
def test_an_event_stamped_in_the_future_counts_as_now(world: World, full_resync: bool) -> None:
    """A like and clicks stamped a year ahead (a wrong clock in Rails) count as events of the sync's
    time: the decayed sums do not weigh them thousands of times a like of today, and a full resync's
    decay epoch is not set to their day (which would weigh every event of today almost nothing)."""
    ahead, liked = world.present(), world.present()
    users = world.users(5)
    if not full_resync:
        world.refresh()  # the first sync is a full one: this later one reads the events incrementally
    world.like(users[0], ahead, at=NOW + dt.timedelta(days=365))
    world.click(users[0], ahead, at=NOW + dt.timedelta(days=365), times=3)
    for user in users[1:]:
        world.like(user, liked)
    world.refresh()
    assert popular()["items"][:2] == [liked, ahead]
    epoch = world.recs.execute("SELECT decay_epoch <= now() FROM recs.sync_state WHERE source = 'decay'")
    assert epoch.fetchone() == (True,)
    stamps = world.recs.execute(
        "SELECT bool_and(x.liked_at <= now() AND x.last_at <= now()) FROM recs.interactions x"
        " JOIN recs.items i USING (item_id) WHERE i.present_id = %s",
        (ahead,),
    )
    assert stamps.fetchone() == (True,)


def test_a_full_resync_of_unchanged_events_rewrites_no_row_and_marks_nobody(world: World) -> None:
    """The daily full resync keeps the decay epoch, so the click sums it recomputes equal the stored
    ones, added up sync by sync (to rounding): no row of recs.interactions is written again and no
    user is marked for the profile and similarity jobs; a real change still is."""
    presents = [world.present() for _ in range(4)]
    users = world.users(6)
    now = dt.datetime.now(dt.UTC)
    for day in range(3):  # clicks of several days on the same pairs, summed over several syncs
        for user in users:
            for present in presents[:3]:
                world.click(user, present, at=now - dt.timedelta(days=9 - 3 * day, hours=user.int % 7))
        world.like(users[day], presents[3], at=now - dt.timedelta(days=9 - 3 * day))
        world.refresh()
    world.refresh()
    rows = "SELECT user_key, item_id, xmin::text FROM recs.interactions ORDER BY 1, 2"
    before = world.recs.execute(rows).fetchall()
    epoch = "SELECT decay_epoch FROM recs.sync_state WHERE source = 'decay'"
    kept_epoch = world.recs.execute(epoch).fetchone()
    world.recs.execute("DELETE FROM recs.dirty_users; DELETE FROM recs.dirty_profiles")
    world.recs.execute(
        "UPDATE recs.sync_state SET full_synced_at = now() - interval '3 days' WHERE source = 'decay'"
    )
    world.main.execute("DELETE FROM handpicked_likes WHERE user_id = %s", (users[0],))  # one real change
    world.refresh()
    full = world.recs.execute(
        "SELECT full_synced_at > now() - interval '1 minute' FROM recs.sync_state WHERE source = 'decay'"
    )
    assert full.fetchone() == (True,)
    assert world.recs.execute(epoch).fetchone() == kept_epoch
    after = world.recs.execute(rows).fetchall()
    unliked = world.recs.execute(
        "SELECT u.user_key, i.item_id FROM recs.users u, recs.items i"
        " WHERE u.user_id = %s AND i.present_id = %s",
        (users[0], presents[3]),
    ).fetchone()
    assert unliked is not None
    assert after == [row for row in before if row[:2] != unliked]
    for dirty in ("recs.dirty_users", "recs.dirty_profiles"):
        assert world.recs.execute(f"SELECT user_key FROM {dirty}").fetchall() == [unliked[:1]]


def test_a_wider_overlap_window_counts_no_click_twice(world: World) -> None:
    """The click ids kept for deduplication cover the overlap window of the sync that kept them: a
    wider window re-reads clicks no id was kept for, so the next sync is a full one (counts from
    scratch), not an incremental one that would add them again."""
    present = world.present()
    user = world.users(1)[0]
    now = dt.datetime.now(dt.UTC)
    world.click(user, present, at=now - dt.timedelta(minutes=30), times=3)
    world.click(user, present, at=now - dt.timedelta(minutes=1))
    world.refresh()
    assert _clicks(world, present) == 4
    world.setting("sync_overlap_minutes", "120")
    world.refresh()
    world.refresh()
    assert _clicks(world, present) == 4


def test_an_age_group_from_a_birth_date_moves_with_the_users_age(world: World) -> None:
    """A user stored a year ago at 24 (18-24, from their birth date) is 25 today: the cleanup job moves
    their group (and updated_at, the cache key's part), the popularity job their segment; a group
    sent explicitly against the birth date stays as sent."""
    today = dt.date.today()
    born = today.replace(year=today.year - 25) - dt.timedelta(days=10)
    aged, explicit = uuid.uuid4(), uuid.uuid4()
    with app_connect() as app:
        for user, group in ((aged, None), (explicit, "55+")):
            app.execute(
                "SELECT FROM api.upsert_user_demographics(%s, 'f', %s, %s, 'en', NULL)", (user, group, born)
            )
    stored_a_year_ago = "UPDATE recs.user_demographics SET updated_at = now() - interval '1 year'"
    world.recs.execute(stored_a_year_ago + ", age_group = '18-24' WHERE age_group = '25-34'")
    world.recs.execute(stored_a_year_ago)
    present = world.present()
    world.like(aged, present)
    world.refresh()
    segment = (
        "SELECT s.age_group FROM recs.popular_user_segments s JOIN recs.users u USING (user_key)"
        " WHERE u.user_id = %s"
    )
    assert world.recs.execute(segment, (aged,)).fetchone() == ("18-24",)
    world.refresh("cleanup")
    groups = world.recs.execute(
        "SELECT u.user_id, d.age_group, d.updated_at > now() - interval '1 minute'"
        " FROM recs.user_demographics d JOIN recs.users u USING (user_key)"
    ).fetchall()
    assert sorted(groups) == sorted([(aged, "25-34", True), (explicit, "55+", False)])
    # A PATCH of another field re-derives a group the birth date gave (kept as it was, it would look
    # sent explicitly, and the cleanup job would leave it).
    patched = uuid.uuid4()
    with app_connect() as app:
        app.execute(
            "SELECT FROM api.upsert_user_demographics(%s, 'f', NULL, %s, 'en', NULL)", (patched, born)
        )
    world.recs.execute(
        stored_a_year_ago + ", age_group = '18-24' FROM recs.users u"
        " WHERE u.user_key = recs.user_demographics.user_key AND u.user_id = %s",
        (patched,),
    )
    with app_connect() as app:
        row = app.execute(
            'SELECT age_group FROM api.patch_user_demographics(%s, \'{"locale": "de"}\')', (patched,)
        )
        assert row.fetchone() == ("25-34",)
    world.refresh()
    assert world.recs.execute(segment, (aged,)).fetchone() == ("25-34",)
    world.refresh("cleanup")  # once moved, nothing more to move
    assert world.recs.execute(
        "SELECT rows FROM recs.job_runs WHERE job = 'cleanup' ORDER BY id DESC LIMIT 1"
    ).fetchone() == (0,)


def test_a_present_private_for_a_while_comes_back_with_its_clicks(world: World) -> None:
    """Clicks of a present that left recs.items (made private) were removed with it: when it comes
    back, those inside the sync's window count again, with those before it, however often read."""
    present, other = world.present(), world.present()
    user = world.users(1)[0]
    now = dt.datetime.now(dt.UTC)
    world.click(user, present, at=now - dt.timedelta(hours=3), times=2)
    world.click(user, present, at=now - dt.timedelta(minutes=5), times=3)
    world.refresh()
    assert _clicks(world, present) == 5
    world.main.execute("UPDATE handpicked_presents SET user_id = %s WHERE id = %s", (uuid.uuid4(), present))
    world.refresh()
    assert _clicks(world, present) is None and other in popular()["items"] + [other]
    world.main.execute("UPDATE handpicked_presents SET user_id = NULL WHERE id = %s", (present,))
    for _ in range(2):
        world.refresh()
        assert _clicks(world, present) == 5


def test_a_main_without_any_public_present_empties_nothing(world: World) -> None:
    """Main answering with no public present at all while presents are known (MAIN_DATABASE_URL at
    another database, a failed Rails migration) fails the sync: the catalogue, the users'
    interactions and the served popularity stay as they were."""
    presents = [world.present() for _ in range(3)]
    for user in world.users(2):
        world.like(user, presents[0])
    world.refresh()
    world.main.execute("UPDATE handpicked_presents SET user_id = %s", (uuid.uuid4(),))
    with (
        owner_connect() as owner,
        pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="no public present"),
    ):
        owner.execute("CALL recs.run_job('refresh_popular_items')")
    counts = world.recs.execute(
        "SELECT (SELECT count(*) FROM recs.items), (SELECT count(*) FROM recs.interactions)"
    )
    assert counts.fetchone() == (3, 2)
    assert popular()["items"][0] == presents[0]


def test_a_watermark_in_the_future_is_repaired_by_a_full_resync(world: World) -> None:
    """A watermark an earlier version left in the future (the events since were never read) makes the
    next sync a full one, which reads them, and the watermark comes back to the sync's time."""
    present = world.present()
    user = world.users(1)[0]
    world.click(user, present, at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    world.refresh()
    world.recs.execute(
        "UPDATE recs.sync_state SET watermark = now() + interval '3 hours'"
        " WHERE source = 'handpicked_present_clicks'"
    )
    missed = world.present()
    world.click(user, missed, at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))  # older than the overlap
    world.refresh()
    assert (_clicks(world, present), _clicks(world, missed)) == (1, 1)
    assert world.recs.execute(
        "SELECT watermark <= now() FROM recs.sync_state WHERE source = 'handpicked_present_clicks'"
    ).fetchone() == (True,)


@pytest.mark.parametrize("newest_in_main", ["a like", "a click on a private present"])
def test_a_full_resync_reads_the_ids_of_the_clicks_inside_the_overlap_window_only(
    world: World, newest_in_main: str
) -> None:
    """The window kept for deduplication starts 10 minutes before the newest public click read, however
    much newer main's newest click is (on a present that is not public, it is not read)."""
    present = world.present()
    old, recent, other = world.users(3)
    world.click(old, present, at=NOW - dt.timedelta(days=2))
    world.click(recent, present, at=NOW - dt.timedelta(hours=2))  # the newest public click
    if newest_in_main == "a like":
        world.like(other, present, at=NOW)
    else:
        world.click(other, world.present(owner=uuid.uuid4()), at=NOW)
    world.refresh()  # the first run: a full resync
    kept = world.main.execute(
        "SELECT id FROM handpicked_present_clicks WHERE user_id = %s", (recent,)
    ).fetchall()
    assert world.recs.execute("SELECT id FROM recs.recent_click_ids").fetchall() == kept
    world.refresh()  # incremental: the recent click is read again, and counted once
    row = world.recs.execute(
        "SELECT sum(clicks) FROM recs.interactions x JOIN recs.items i USING (item_id)"
        " WHERE i.present_id = %s",
        (present,),
    ).fetchone()
    assert row == (2,)


def test_a_present_that_turns_private_disappears_at_the_next_refresh(world: World) -> None:
    present = world.present()
    world.present()  # main keeps a public present (with none, the sync refuses to empty the catalogue)
    world.like(world.users(1)[0], present)
    world.refresh()
    assert popular()["items"][0] == present
    world.main.execute("UPDATE handpicked_presents SET user_id = %s WHERE id = %s", (uuid.uuid4(), present))
    world.refresh()
    assert present not in popular()["items"]
    assert world.recs.execute("SELECT count(*) FROM recs.interactions").fetchone() == (0,)


@pytest.mark.parametrize("change", ["private", "deleted"])
def test_the_sync_of_any_job_takes_a_present_out_of_the_popular_pages_at_once(
    world: World, change: str
) -> None:
    """Popular pages are served from the popularity tables alone: the first sync that sees a present
    gone private (or deleted) takes it out of every level, before the next popularity run, and the
    new data version retires the cached pages."""
    kept, leaving = world.present(), world.present()
    fans = world.users(25, "f", "25-34")
    for fan in fans:
        world.like(fan, kept)
        world.like(fan, leaving)
    world.refresh_all()
    version = popular()["data_version"]
    for gender, age_group in ((None, None), ("f", "25-34"), ("f", None), (None, "25-34")):
        assert set(popular(gender, age_group)["items"]) == {kept, leaving}
    statement = {
        "private": "UPDATE handpicked_presents SET user_id = %s WHERE id = %s",
        "deleted": "DELETE FROM handpicked_presents WHERE id = %s",
    }[change]
    world.main.execute(statement, (uuid.uuid4(), leaving) if change == "private" else (leaving,))
    world.refresh("refresh_user_profiles")  # its sync, not the popularity job
    for gender, age_group in ((None, None), ("f", "25-34"), ("f", None), (None, "25-34")):
        page = popular(gender, age_group)
        assert page["items"] == [kept], (gender, age_group, page)
    assert popular()["data_version"] > version
    world.refresh()  # the popularity run agrees
    assert popular()["items"] == [kept] and popular("f", "25-34")["items"] == [kept]


def test_a_present_made_private_leaves_every_page_at_the_next_withdrawal_run(world: World) -> None:
    """The withdraw_presents job (every minute) takes a present main made private out of the
    popular and personalised pages without waiting for a refresh job's sync, and changes nothing,
    not even the data version, while no present went."""
    kept, leaving, shared = world.present(), world.present(), world.present()
    fans = world.users(25, "f", "25-34")
    for fan in fans:
        world.like(fan, kept)
        world.like(fan, leaving)
        world.like(fan, shared)
    reader = world.users(1, "f", "25-34")[0]
    world.like(reader, shared)
    world.refresh_all()
    assert set(popular("f", "25-34")["items"]) == {kept, leaving, shared}
    assert leaving in personalized(reader)["items"]
    version = popular()["data_version"]
    world.refresh("withdraw_presents")  # nothing went: nothing changes
    assert popular()["data_version"] == version
    world.main.execute("UPDATE handpicked_presents SET user_id = %s WHERE id = %s", (uuid.uuid4(), leaving))
    world.refresh("withdraw_presents")
    for gender, age_group in ((None, None), ("f", "25-34"), ("f", None), (None, "25-34")):
        assert leaving not in popular(gender, age_group)["items"], (gender, age_group)
    assert popular()["data_version"] > version
    assert leaving not in personalized(reader)["items"]
    gone = world.recs.execute("SELECT count(*) FROM recs.items WHERE present_id = %s", (leaving,)).fetchone()
    assert gone == (0,)
    runs = world.recs.execute(
        "SELECT rows, error FROM recs.job_runs WHERE job = 'withdraw_presents' ORDER BY id"
    ).fetchall()
    assert runs == [(0, None), (1, None)]


@pytest.mark.parametrize(
    "held",
    [
        "SELECT pg_advisory_lock(recs.sync_lock_key())",  # a refresh job's sync
        "SELECT pg_advisory_lock_shared(recs.job_lock_key('derived_rows'))",  # an erasure
    ],
)
def test_the_withdrawal_waits_for_no_job_and_no_erasure(world: World, held: str) -> None:
    present = world.present()
    world.present()
    world.like(world.users(1)[0], present)
    world.refresh_all()
    world.main.execute("UPDATE handpicked_presents SET user_id = %s WHERE id = %s", (uuid.uuid4(), present))
    world.recs.execute(held)
    try:
        world.refresh("withdraw_presents")  # returns at once, leaving it to the next run
    finally:
        world.recs.execute("SELECT pg_advisory_unlock_all()")
    assert present in popular()["items"]
    world.refresh("withdraw_presents")
    assert present not in popular()["items"]


def test_refresh_bumps_the_data_version_only_when_something_changed(world: World) -> None:
    present = world.present()
    world.like(world.users(1)[0], present)
    world.refresh()
    first = popular()["data_version"]
    world.refresh()
    assert popular()["data_version"] == first
    world.click(world.users(1)[0], present)
    world.refresh()
    assert popular()["data_version"] == first + 1
    newcomer = world.users(1, "f", "18-24")[0]
    world.refresh()  # demographics without events change no popularity row
    assert popular()["data_version"] == first + 1
    world.like(newcomer, present)
    world.refresh()
    assert popular()["data_version"] == first + 2


def test_a_full_resync_sees_unlikes_and_keeps_what_did_not_change(world: World) -> None:
    kept, unliked = world.present(), world.present()
    fan = world.users(1)[0]
    world.like(fan, kept)
    world.like(fan, unliked)
    world.refresh()
    world.main.execute("DELETE FROM handpicked_likes WHERE handpicked_present_id = %s", (unliked,))
    world.refresh()  # incremental: cannot see a deleted row
    assert len(popular()["items"]) == 2 and popular()["items"][0] in (kept, unliked)
    world.recs.execute("UPDATE recs.sync_state SET full_synced_at = now() - interval '2 days'")
    world.refresh()
    liked = world.recs.execute(
        "SELECT i.present_id FROM recs.interactions x JOIN recs.items i USING (item_id) "
        "WHERE x.liked_at IS NOT NULL"
    ).fetchall()
    assert liked == [(kept,)]
    assert popular()["items"][0] == kept


def _liker_and_left_out(world: World, liked: list[uuid.UUID], left_out: list[uuid.UUID]) -> tuple[Any, Any]:
    """A user who liked `liked`, refreshed: their user_key (a count's left-out user) and the item ids
    of `left_out` (its left-out ids)."""
    user = world.users(1)[0]
    for present in liked:
        world.like(user, present)
    world.refresh()
    user_key = world.recs.execute("SELECT user_key FROM recs.users WHERE user_id = %s", (user,)).fetchone()
    assert user_key is not None
    item_ids = world.recs.execute(
        "SELECT array_agg(item_id) FROM recs.items WHERE present_id = ANY(%s)", (left_out,)
    ).fetchone()
    assert item_ids is not None
    return user_key, item_ids


def test_the_precounted_total_matches_an_exact_count(world: World) -> None:
    # No list (everywhere), lists, a duplicated region, an empty list (nowhere), a NULL entry.
    regions = (None, [1], [2, 3], [1, 3], [3, 3], [], [1, None])
    presents = [
        world.present(
            category=category,
            platform=platform,
            available=index % 7 != 0,
            geo_ids=regions[(index // 2) % len(regions)],
        )
        for index, (category, platform) in enumerate(
            (category, platform)
            for category in ("books", "toys", "art")
            for platform in ("etsy", "ozon")
            for _ in range(4)
        )
    ]
    user_key, excluded = _liker_and_left_out(world, presents[:5], presents[3:9])
    filters = ((None, None), (["toys"], None), (None, ["ozon"]), (["art"], ["etsy"]))
    for (categories, platforms), geo_id, (left_out_user, left_out) in itertools.product(
        filters, (None, 1, 3, 9), ((user_key[0], excluded[0]), (None, None))
    ):
        fast = world.recs.execute(
            "SELECT recs.count_available(%s, %s, %s, NULL, NULL, %s, %s)",
            (categories, platforms, geo_id, left_out_user, left_out),
        ).fetchone()
        exact = world.recs.execute(
            """
            SELECT count(*) FROM recs.items i
            WHERE i.available AND (%(c)s::text[] IS NULL OR i.category = ANY (%(c)s))
              AND (%(p)s::text[] IS NULL OR i.platform = ANY (%(p)s))
              AND (%(g)s::int IS NULL OR i.geo_ids IS NULL OR coalesce(%(g)s = ANY (i.geo_ids), false))
              AND i.item_id <> ALL (coalesce(%(x)s, '{}'::int[]))
              AND NOT EXISTS (SELECT 1 FROM recs.interactions x
                              WHERE x.user_key = %(u)s AND x.item_id = i.item_id)
            """,
            {"c": categories, "p": platforms, "g": geo_id, "x": left_out, "u": left_out_user},
        ).fetchone()
        assert fast == exact, (categories, platforms, geo_id, left_out_user)


def test_a_price_filtered_total_matches_an_exact_count(world: World) -> None:
    # Prices repeated, missing and on range bounds; presents without a category or platform; a
    # region list; unavailable ones.
    prices = (5.0, 10.0, 10.0, 12.5, 20.0, None, 29.99, 30.0, 30.01, 99.0)
    presents = [
        world.present(
            category=category,
            platform=platform,
            price=prices[index % len(prices)],
            available=index % 9 != 0,
            geo_ids=[1] if index % 5 == 0 else None,
        )
        for index, (category, platform) in enumerate(
            (category, platform)
            for category in ("books", "toys", None)
            for platform in ("etsy", "ozon", None)
            for _ in range(7)
        )
    ]
    user_key, excluded = _liker_and_left_out(world, presents[:6], presents[4:12])
    categories = (None, ["toys"], ["books", ""], [""], [], ["books", "toys"])
    platforms = (None, ["ozon"], ["etsy", "ozon"], [])
    ranges = ((None, 15), (10, None), (10, 30), (10.005, 29.999), (30, 10), (20, 20), (0, 0), (100, None))
    totals = set()
    for category_list, platform_list, (low, high), geo_id, (left_out_user, left_out) in itertools.product(
        categories, platforms, ranges, (None, 1), ((user_key[0], excluded[0]), (None, None))
    ):
        counted = world.recs.execute(
            "SELECT recs.count_available(%s::text[], %s::text[], %s::int, %s::numeric, %s::numeric,"
            " %s::int, %s::int[])",
            (category_list, platform_list, geo_id, low, high, left_out_user, left_out),
        ).fetchone()
        exact = world.recs.execute(
            """
            SELECT count(*) FROM recs.items i
            WHERE i.available
              AND (%(c)s::text[] IS NULL OR i.category = ANY (%(c)s)
                   OR (i.category IS NULL AND '' = ANY (%(c)s)))
              AND (%(p)s::text[] IS NULL OR i.platform = ANY (%(p)s))
              AND (%(lo)s::numeric IS NULL OR i.price >= %(lo)s)
              AND (%(hi)s::numeric IS NULL OR i.price <= %(hi)s)
              AND (%(g)s::int IS NULL OR i.geo_ids IS NULL OR coalesce(%(g)s = ANY (i.geo_ids), false))
              AND i.item_id <> ALL (coalesce(%(x)s, '{}'::int[]))
              AND NOT EXISTS (SELECT 1 FROM recs.interactions x
                              WHERE x.user_key = %(u)s AND x.item_id = i.item_id)
            """,
            {
                "c": category_list,
                "p": platform_list,
                "lo": low,
                "hi": high,
                "g": geo_id,
                "x": left_out,
                "u": left_out_user,
            },
        ).fetchone()
        assert counted == exact, (category_list, platform_list, low, high, geo_id, left_out_user)
        totals.add(exact)
    assert len(totals) > 10  # the combinations tell presents apart, not only count none


def test_report_views_agree_with_the_data(world: World) -> None:
    presents = [world.present(category="books") for _ in range(12)]
    unavailable = world.present(available=False)
    fans = world.users(25, "f", "25-34")
    for index, fan in enumerate(fans):
        for present in presents[: 1 + index % 4]:  # presents[0] liked by all, [3] by a quarter
            world.like(fan, present)
    lonely = world.users(1, "m", "18-24")[0]
    world.like(lonely, presents[11])
    idle = world.users(2, "m", "18-24")  # demographics, no interactions
    world.refresh()
    top = world.recs.execute(
        "SELECT rank, present_id, users FROM recs.report_top_presents"
        " WHERE gender = 'f' AND age_group = '*' ORDER BY rank"
    ).fetchall()
    assert [row[1] for row in top[:4]] == presents[:4] and [row[2] for row in top[:4]] == [25, 18, 12, 6]
    assert [row[0] for row in top] == list(range(1, len(top) + 1)) and len(top) <= 10
    levels = world.recs.execute("SELECT DISTINCT gender, age_group FROM recs.report_top_presents").fetchall()
    # Each gender, each age group and everyone; a gender x age group cell is ranked from its groups.
    assert sorted(levels) == [("*", "*"), ("*", "18-24"), ("*", "25-34"), ("f", "*"), ("m", "*")]
    tiers = dict(world.recs.execute("SELECT tier, users FROM recs.report_user_tiers").fetchall())
    # 25 fans: 1..4 likes -> 7 with 1, 6 with 2 (content), 12 with 3-4 (collaborative); lonely: 1.
    assert tiers == {"content_based": 7 + 6 + 1, "collaborative": 12, "popular": len(idle)}
    coverage = world.recs.execute("SELECT * FROM recs.report_catalogue_coverage").fetchone()
    assert coverage == (12, 5, 5)  # 12 available (not the unavailable one); 4 + presents[11] liked
    assert unavailable not in [row[1] for row in top]


def test_a_small_group_borrows_from_global_and_a_large_one_keeps_its_own(world: World) -> None:
    own_small, own_large, global_hit = world.present(), world.present(), world.present()
    for user in world.users(4, "f", "25-34"):  # small groups: 4 women, 4 users of 25-34, one present
        world.like(user, own_small)
    for user in world.users(25, "m", "18-24"):  # a larger age group: 25 users
        world.like(user, own_large)
    for user in world.users(50, "m", "45-54"):  # everyone else likes the global hit
        world.like(user, global_hit)
    world.setting("min_segment_users", "1")
    world.setting(
        "popular_lift_exponent", "1"
    )  # the lifts as they are (the exponent: the exact-ranking test)
    world.setting("popular_lift_prior_users", "0")  # groups alone: each its own first
    world.refresh()
    assert popular("f", "25-34")["items"][0] == own_small
    assert popular("m", "18-24")["items"][0] == own_large
    # A prior of 20 users on each lift, (u + 20) / (U n / 79 + 20), the score G x lift(gender) x
    # lift(age group): for f/25-34 (both groups n = 4) its own present's 4 users lift it only to
    # 4 x 1.19 x 1.19 = 5.6, below the global hit's 50 x 0.89 x 0.89 = 39.4 and the large group's
    # present's 25 x 0.94 x 0.94 = 22.1 (the global order); for m/18-24 the age group (n = 25) keeps
    # its own present first, 25 x 1.03 (m, n = 75) x 1.61 = 41.5 against 50 x 1.04 x 0.56 = 29.0.
    world.setting("popular_lift_prior_users", "20")
    world.refresh()
    small, large = popular("f", "25-34"), popular("m", "18-24")
    assert small["items"] == [global_hit, own_large, own_small] == popular()["items"]
    assert small["levels_used"] == ["exact"] and small["fallback_level"] == "exact"
    assert large["items"] == [own_large, global_hit, own_small]
    # A combination nobody is in is served from its two groups (here m's and 25-34's lifts).
    empty_cell = popular("m", "25-34")
    assert empty_cell["fallback_level"] == "exact" and len(empty_cell["items"]) == 3
    # A prior large beside every count: every segment follows the global ranking.
    world.setting("popular_lift_prior_users", "1000000")
    world.refresh()
    assert popular("m", "18-24")["items"] == [global_hit, own_large, own_small]
    # A segment serves its first popular_segment_depth presents; the page goes on at the next levels.
    world.setting("popular_segment_depth", "1")
    world.refresh()
    small = popular("f", "25-34")
    assert small["items"][0] == global_hit
    assert sorted(small["items"]) == sorted([global_hit, own_small, own_large])
    assert small["levels_used"][0] == "exact" and len(small["levels_used"]) > 1


def test_a_group_below_min_segment_users_leaves_its_levels_out(world: World) -> None:
    """The exact level needs its gender and its age group to reach min_segment_users, not their cell."""
    hit = world.present()
    for user in world.users(3, "f", "25-34") + world.users(3, "m", "55+"):
        world.like(user, hit)
    world.setting("min_segment_users", "3")
    world.refresh()
    assert popular("f", "55+")["fallback_level"] == "exact"  # a cell nobody is in; f: 3, 55+: 3
    world.users(1, "f", "18-24")  # no interactions: not counted
    world.refresh()
    assert popular("f", "18-24")["fallback_level"] == "gender"  # 18-24 has no interacting users
    world.setting("min_segment_users", "4")  # read per request: both groups now too small
    assert popular("f", "55+")["fallback_level"] == "global"


def test_the_lifted_ranking_is_exact_under_filters_and_deep_pages(world: World) -> None:
    """Pages of a segment equal the brute-force ranking by the global score x the shrunk lifts of its
    gender and its age group, each raised to the exponent e, G ((u_g + b) / (U n_g / N + b))^e
    ((u_a + b) / (U n_a / N + b))^e (a catalogue within popular_segment_depth: every present is a
    candidate)."""
    presents = [world.present(price=5 + n, category=("books", "toys")[n % 3 == 0]) for n in range(60)]
    cells = (("f", "25-34", 8), ("m", "25-34", 25), ("f", "55+", 14))
    for number, (gender, group, count) in enumerate(cells):
        for index, user in enumerate(world.users(count, gender, group)):
            for offset in range(1 + (index * 7 + number) % 9):
                world.like(user, presents[(index * 11 + offset * (5 + number) + number * 17) % len(presents)])
            world.click(user, presents[(index * 3 + number) % len(presents)], times=1 + index % 2)
    world.setting("min_segment_users", "1")
    world.refresh()
    rows = world.recs.execute(
        "SELECT p.gender, p.age_group, p.present_id, p.score, p.users, p.price, p.category, p.item_id"
        " FROM recs.popular_items p"
    ).fetchall()
    users: dict[tuple[str, str], dict[uuid.UUID, int]] = {}
    for gender, group, present, _, count, _, _, _ in rows:
        users.setdefault((gender, group), {})[present] = count
    overall = {present: score for gender, group, present, score, *_ in rows if (gender, group) == ("*", "*")}
    attributes = {present: (float(price), kind, key) for _, _, present, _, _, price, kind, key in rows}
    counted = world.recs.execute("SELECT gender, age_group, users FROM recs.popular_segments").fetchall()
    sizes = {(gender, group): count for gender, group, count in counted}
    everyone = sizes[("*", "*")]
    # The cells above, a gender and an age group alone, and a cell nobody is in (m, 55+).
    segments = [(gender, group) for gender, group, _ in cells] + [("m", None), (None, "55+"), ("m", "55+")]
    for prior, exponent in ((0.0, 1.0), (3.0, 1.0), (20.0, 1.0), (20.0, 1.5), (3.0, 2.5), (3.0, 0.0)):
        world.setting("popular_lift_prior_users", str(prior))
        world.setting("popular_lift_exponent", str(exponent))
        world.refresh()
        for gender, group in segments:

            def lift(
                present: uuid.UUID, key: tuple[str, str], b: float = prior, e: float = exponent
            ) -> float:
                total, n = users[("*", "*")][present], sizes[key]
                denominator = total * n / everyone + b  # the job's arithmetic, in its order
                return (
                    ((users.get(key, {}).get(present, 0) + b) / denominator) ** e if denominator > 0 else 1.0
                )

            def blended(present: uuid.UUID) -> tuple[float, int]:
                by_gender = lift(present, (gender, "*")) if gender else 1.0  # noqa: B023
                by_age = lift(present, ("*", group)) if group else 1.0  # noqa: B023
                return -(overall[present] * by_gender * by_age), attributes[present][2]

            for price_to, category in ((None, None), (30, None), (None, "toys")):
                expected = sorted(
                    (
                        present
                        for present, (price, kind, _) in attributes.items()
                        if (price_to is None or price <= price_to) and (category is None or kind == category)
                    ),
                    key=blended,
                )
                if exponent == 0:  # every lift counts 1: the global ranking, whatever the segment
                    assert expected[:7] == popular(price_to=price_to, category=category, limit=7)["items"]
                for page in (1, 3):
                    got = popular(gender, group, price_to=price_to, category=category, page=page, limit=7)
                    assert got["items"] == expected[(page - 1) * 7 : page * 7], (
                        prior,
                        exponent,
                        gender,
                        group,
                        page,
                    )


def test_the_blended_rankings_of_one_users_segments_are_written_as_a_whole_run_writes_them(
    world: World,
) -> None:
    """recs.popular_write_blended(gender, age group), the evaluator's leave-one-user-out cold start:
    the segments a request of theirs reads come out as a run over every segment writes them, and
    no other segment is touched."""
    presents = [world.present() for _ in range(6)]
    for n, (gender, group) in enumerate([("f", "25-34"), ("m", "25-34"), ("f", "55+"), ("m", "18-24")]):
        for user in world.users(5, gender, group):
            for present in presents[n : n + 3]:
                world.like(user, present)
    world.setting("min_segment_users", "1")
    world.refresh()
    scope = {("f", "25-34"), ("f", "*"), ("*", "25-34")}
    rows = "SELECT gender, age_group, item_id, score FROM recs.popular_blended ORDER BY 1, 2, 3"
    with owner_connect() as owner, owner.transaction(force_rollback=True):
        before = owner.execute(rows).fetchall()
        # One woman of 25-34 taken out, as the evaluator does for each user in turn.
        owner.execute(
            "SELECT FROM recs.erase_users(ARRAY(SELECT d.user_key FROM recs.user_demographics d"
            " WHERE d.gender = 'f' AND d.age_group = '25-34' ORDER BY d.user_key LIMIT 1), 'api')"
        )
        owner.execute(
            "SELECT recs.popular_apply_changes(d.decay_epoch, d.half_life_days,"
            " recs.setting('like_weight')::float8, recs.setting('popular_click_weight')::float8)"
            " FROM recs.sync_state d WHERE d.source = 'decay'"
        )
        owner.execute("SELECT recs.popular_write_blended('f', '25-34')")
        restricted = owner.execute(rows).fetchall()
        owner.execute("SELECT recs.popular_write_blended()")
        whole = owner.execute(rows).fetchall()

    def of(table: list[Any], in_scope: bool) -> list[Any]:
        return [row for row in table if ((row[0], row[1]) in scope) == in_scope]

    assert of(restricted, True) == of(whole, True) != of(before, True)
    assert of(restricted, False) == of(before, False) != of(whole, False)  # the others changed too


def test_a_segment_whose_last_user_is_taken_out_goes_and_a_bad_segment_is_refused(world: World) -> None:
    """The leave-one-user-out of the only user of an age group: that group's rankings go, as a run
    over every segment takes them away; a gender or age group the service does not know is a 22023."""
    present = world.present()
    for user in world.users(3, "f", "25-34"):
        world.like(user, present)
    (alone,) = world.users(1, "m", "35-44")
    world.like(alone, world.present())
    world.setting("min_segment_users", "1")
    world.refresh()
    segments = (
        "SELECT DISTINCT gender, age_group FROM recs.popular_blended WHERE age_group = '35-44' ORDER BY 1, 2"
    )
    with owner_connect() as owner, owner.transaction(force_rollback=True):
        assert owner.execute(segments).fetchall() == [("*", "35-44"), ("f", "35-44"), ("m", "35-44")]
        owner.execute(
            "SELECT FROM recs.erase_users("
            "ARRAY(SELECT u.user_key FROM recs.users u WHERE u.user_id = %s), 'api')",
            (alone,),
        )
        owner.execute(
            "SELECT recs.popular_apply_changes(d.decay_epoch, d.half_life_days,"
            " recs.setting('like_weight')::float8, recs.setting('popular_click_weight')::float8)"
            " FROM recs.sync_state d WHERE d.source = 'decay'"
        )
        owner.execute("SELECT recs.popular_write_blended('m', '35-44')")
        # Its own segments went; the women's of 35-44 is no segment of this user's requests.
        assert owner.execute(segments).fetchall() == [("f", "35-44")]
    with owner_connect() as owner:
        for gender, group in [("male", None), (None, "30-39"), ("x", "25-34")]:
            with pytest.raises(psycopg.errors.InvalidParameterValue, match="no segment"):
                owner.execute("SELECT recs.popular_write_blended(%s, %s)", (gender, group))
