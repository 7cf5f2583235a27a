"""Item neighbours in SQL: similarities by hand, incremental runs as a full one computes them, the
content-based tier served by them, the collaborative blend, and never a private present."""

from __future__ import annotations

import datetime as dt
import math
import threading
import uuid
from collections.abc import Callable

import pytest

from tests.conftest import owner_connect
from tests.data import NOW, World
from tests.sql.test_personalized import add_crowd, personalized


def item_neighbours(world: World, present: uuid.UUID) -> list[tuple[uuid.UUID, float]]:
    """recs.item_neighbors of one present as (present id, similarity), most similar first."""
    rows = world.recs.execute(
        """SELECT other.present_id, n.similarity
           FROM recs.items own
           JOIN recs.item_neighbors pool ON pool.item_id = own.item_id
           CROSS JOIN LATERAL unnest(pool.neighbor_ids, pool.similarities) WITH ORDINALITY
               AS n(item_id, similarity, position)
           JOIN recs.items other ON other.item_id = n.item_id
           WHERE own.present_id = %s
           ORDER BY n.position""",
        (present,),
    ).fetchall()
    return [(row[0], round(row[1], 6)) for row in rows]


def item_neighbour_scored(world: World, user: uuid.UUID, history: int = 200) -> list[uuid.UUID]:
    """The presents recs.item_neighbor_scores scores for a user (history of 200 unless told,
    half-life 3), as the query returns them."""
    rows = world.recs.execute(
        """SELECT i.present_id FROM recs.users u
           CROSS JOIN LATERAL recs.item_neighbor_scores(u.user_key, '{}', %s, 3) s
           JOIN recs.items i ON i.item_id = s.item_id
           WHERE u.user_id = %s""",
        (history, user),
    ).fetchall()
    return [row[0] for row in rows]


def full_synced_at(world: World, source: str) -> object:
    """When the job that keeps recs.sync_state row `source` last recomputed everything."""
    query = "SELECT full_synced_at FROM recs.sync_state WHERE source = %s"
    row = world.recs.execute(query, (source,)).fetchone()
    assert row is not None
    return row[0]


def force_full_similarity_run(world: World) -> None:
    """A full similarity run, then the item-neighbour job that recomputes the lists after one."""
    world.recs.execute("UPDATE recs.sync_state SET full_synced_at = NULL WHERE source = 'user_similarities'")
    world.refresh("refresh_user_similarities")
    world.refresh("refresh_item_neighbors")


def test_item_similarities_match_a_hand_computation(world: World) -> None:
    x, y, z = (world.present() for _ in range(3))
    pairs, single = world.users(3), world.users(1)[0]
    for user in pairs:  # three users take x and y
        world.like(user, x)
        world.like(user, y)
    world.like(single, x)  # one takes x and z, z clicked twice too
    world.like(single, z)
    world.click(single, z, times=2)
    world.setting("item_similarity_asymmetry", "0.5")
    world.refresh_all()

    # Each user's weights divided by the length of their weight vector: the pairs' (1, 1) / sqrt(2);
    # the single user's x 1 and z 1 + 2 x 0.3 = 1.6, over sqrt(1 + 1.6^2).
    single_norm = math.sqrt(1 + 1.6**2)
    own = [1 / math.sqrt(2)] * 3 + [1 / single_norm]
    x_length = math.sqrt(sum(weight**2 for weight in own))
    y_length = math.sqrt(3 * (1 / math.sqrt(2)) ** 2)
    z_length = 1.6 / single_norm
    to_y = 3 * (1 / math.sqrt(2)) ** 2 / (x_length * y_length)
    to_z = (1 / single_norm) * (1.6 / single_norm) / (x_length * z_length)
    assert item_neighbours(world, x) == [(y, round(to_y, 6)), (z, round(to_z, 6))]
    assert [present for present, _ in item_neighbours(world, z)] == [x]  # y shares no user with z


def test_the_item_neighbour_pool_size_and_user_sample_are_respected(world: World) -> None:
    anchor = world.present()
    others = [world.present() for _ in range(5)]
    for index, user in enumerate(world.users(5)):  # user 0, the most recent, took only others[0]
        at = NOW - dt.timedelta(hours=index)
        world.like(user, anchor, at)
        for other in others[: index + 1]:
            world.like(user, other, at)
    world.setting("item_neighbor_pool_size", "2")
    world.refresh_all()
    assert [present for present, _ in item_neighbours(world, anchor)][:1] == [others[0]]  # shared by all 5
    assert len(item_neighbours(world, anchor)) == 2

    world.setting("item_neighbor_user_sample", "1")  # a changed setting makes the next run recompute
    world.refresh("refresh_item_neighbors")
    assert [present for present, _ in item_neighbours(world, anchor)] == [others[0]]


def test_an_item_neighbour_setting_recomputes_the_lists_not_the_users_pools(world: World) -> None:
    anchor = world.present()
    others = [world.present() for _ in range(3)]
    for index, user in enumerate(world.users(3)):
        for present in [anchor, *others[: index + 1]]:
            world.like(user, present)
    world.refresh_all()

    def full_runs() -> tuple[object, object]:
        return full_synced_at(world, "user_similarities"), full_synced_at(world, "item_neighbors")

    similarities_at, lists_at = full_runs()
    assert len(item_neighbours(world, anchor)) == 3
    world.setting("item_neighbor_pool_size", "1")
    world.refresh("refresh_user_similarities")  # incremental: the pools' settings did not change
    assert full_runs() == (similarities_at, lists_at) and len(item_neighbours(world, anchor)) == 3
    world.refresh("refresh_item_neighbors")
    assert full_runs()[0] == similarities_at and full_runs()[1] != lists_at
    assert [present for present, _ in item_neighbours(world, anchor)] == [others[0]]  # shared by all 3
    lists_at = full_runs()[1]
    world.refresh("refresh_item_neighbors")  # current: it only checks
    assert full_runs()[1] == lists_at
    assert last_item_neighbours_run(world) == (0, ["items.checked"])


def test_a_smaller_item_pool_size_applies_to_the_scores_before_the_lists_are_rebuilt(world: World) -> None:
    anchor = world.present()
    others = [world.present() for _ in range(3)]
    reader = world.users(1)[0]
    world.like(reader, anchor)
    for index, user in enumerate(world.users(3)):  # others[0] shares the most users with the anchor
        world.like(user, anchor)
        for other in others[: index + 1]:
            world.like(user, other)
    world.setting("item_learned_weight", "0")
    world.refresh_all()
    assert len(item_neighbours(world, anchor)) == 3

    def scored() -> list[uuid.UUID]:
        return [present for present in item_neighbour_scored(world, reader) if present != anchor]

    assert sorted(scored()) == sorted(others)
    world.setting("item_neighbor_pool_size", "1")  # the lists still hold 3 presents until the next run
    assert scored() == [others[0]]


def a_reader_of_an_old_anchor(
    world: World, neighbours: int, presents_since: int
) -> tuple[uuid.UUID, list[uuid.UUID], Callable[[], set[uuid.UUID]]]:
    """An anchor whose item neighbours are `neighbours` presents, the first sharing the most users
    with it, and a reader who liked the anchor and then `presents_since` other presents, one an hour
    (the anchor `presents_since` steps back, weight 2^(-presents_since / 3)). Returns the anchor, the
    neighbours and a function giving those of them recs.item_neighbor_scores scores for the reader."""
    anchor = world.present()
    others = [world.present() for _ in range(neighbours)]
    for index, user in enumerate(world.users(neighbours)):
        world.like(user, anchor)
        for other in others[: index + 1]:
            world.like(user, other)
    reader = world.users(1)[0]
    world.like(reader, anchor, NOW - dt.timedelta(hours=presents_since + 1))
    for hours in range(presents_since, 0, -1):
        world.like(reader, world.present(), NOW - dt.timedelta(hours=hours))
    world.setting("item_learned_weight", "0")
    world.refresh_all()
    assert [present for present, _ in item_neighbours(world, anchor)][:1] == others[:1]
    return anchor, others, lambda: set(item_neighbour_scored(world, reader)) & set(others)


def test_a_light_presents_list_is_read_to_a_depth_in_proportion_to_its_weight(world: World) -> None:
    _, others, scored_others = a_reader_of_an_old_anchor(world, neighbours=3, presents_since=3)  # weight 0.5
    assert scored_others() == set(others)  # 4, the default: 4 x 0.5 >= 1, the whole list
    world.setting("item_neighbor_depth_per_weight", "0.01")  # ceil(100 x 0.01 x 0.5): the first one
    assert scored_others() == {others[0]}
    world.setting("item_neighbor_depth_per_weight", "2")  # 2 x 0.5 = 1: the whole list again
    assert scored_others() == set(others)
    world.setting("item_neighbor_depth_per_weight", "0")  # 0: every list whole, whatever its weight
    assert scored_others() == set(others)


def test_by_default_a_like_nine_steps_back_reads_half_its_list(world: World) -> None:
    anchor, others, scored_others = a_reader_of_an_old_anchor(world, neighbours=4, presents_since=9)  # 1/8
    assert [present for present, _ in item_neighbours(world, anchor)][:4] == others
    world.setting("item_neighbor_pool_size", "4")  # the anchor's list: the four others first
    assert scored_others() == set(others[:2])  # the default 4: ceil(4 x 4 x 1/8) = 2 of the 4
    world.setting("item_neighbor_depth_per_weight", "2")  # ceil(4 x 2 x 1/8) = 1
    assert scored_others() == {others[0]}
    world.setting("item_neighbor_depth_per_weight", "0")  # every list whole
    assert scored_others() == set(others)


def test_incremental_runs_keep_the_lists_and_the_next_full_run_computes_them_from_scratch(
    world: World,
) -> None:
    presents = [world.present() for _ in range(6)]
    users = world.users(8)
    for index, user in enumerate(users):
        for present in presents[index % 3 : index % 3 + 3]:
            world.like(user, present)
    world.refresh_all()
    before = {present: item_neighbours(world, present) for present in presents}

    world.like(users[0], presents[5])  # users[0]'s presents and presents[5] change
    world.click(users[1], presents[4], times=3)
    world.refresh("refresh_user_similarities")
    world.refresh("refresh_item_neighbors")  # after an incremental run it only checks
    assert {present: item_neighbours(world, present) for present in presents} == before
    force_full_similarity_run(world)
    after = {present: item_neighbours(world, present) for present in presents}
    assert after != before and presents[5] in {other for other, _ in after[presents[0]]}

    # The same lists as a database that never held the earlier state: recomputed from scratch.
    world.recs.execute("TRUNCATE recs.item_neighbors, recs.user_histories, recs.item_history_norms")
    force_full_similarity_run(world)
    assert {present: item_neighbours(world, present) for present in presents} == after


def test_a_short_history_is_served_by_item_neighbours_before_category_popularity(world: World) -> None:
    world.neighbours_alone()
    taken, companion, bestseller = world.present(), world.present(), world.present()
    for user in world.users(3):  # people who took `taken` also took `companion`
        world.like(user, taken)
        world.like(user, companion)
    for user in world.users(8):  # far more popular, never with `taken`
        world.like(user, bestseller)
    user = world.users(1)[0]
    world.like(user, taken)
    world.refresh_all()
    result = personalized(user)
    assert result["algorithm_used"] == "content_based"
    assert result["items"] == [companion, bestseller]


def test_a_basket_taken_together_is_one_step_back_in_the_item_score(world: World) -> None:
    """The item score fades a present by the moments since it, not by the presents: six presents
    liked at one time (a basket, an order, a session stamped at once) are one step, and the like
    before them one step further back, 2^(-1/3) at a half-life of 3. Counting presents put it six
    steps back (a quarter), so the last basket alone seeded the item neighbours."""
    world.setting("item_learned_weight", "0")  # the similarities alone (scores scaled alike)
    older, basket = world.present(), [world.present() for _ in range(6)]
    with_older, with_basket = world.present(), world.present()
    for user in world.users(3):  # the same shape on both sides: equal similarities
        world.like(user, older)
        world.like(user, with_older)
    for user in world.users(3):
        world.like(user, basket[0])
        world.like(user, with_basket)
    shopper = world.users(1)[0]
    world.like(shopper, older, at=NOW - dt.timedelta(days=1))
    for present in basket:
        world.like(shopper, present, at=NOW)
    world.refresh_all()
    scores = dict(
        world.recs.execute(
            """SELECT i.present_id, s.score FROM recs.users u
               CROSS JOIN LATERAL recs.item_neighbor_scores(u.user_key, '{}', 200, 3) s
               JOIN recs.items i ON i.item_id = s.item_id
               WHERE u.user_id = %s AND i.present_id = ANY (%s)""",
            (shopper, [with_older, with_basket]),
        ).fetchall()
    )
    assert scores[with_older] / scores[with_basket] == pytest.approx(2 ** (-1 / 3))


def test_a_history_at_one_time_is_read_whole_up_to_the_item_history_limit(world: World) -> None:
    """Presents taken at one time (an import, a file without times) have no order among them: a
    page reads them all, not a sample of the history limit's size; item_neighbor_history_limit
    bounds what one page reads."""
    seeds, companions = [world.present() for _ in range(5)], [world.present() for _ in range(5)]
    for seed, companion in zip(seeds, companions, strict=True):  # each seed's users took its companion
        for user in world.users(2):
            world.like(user, seed)
            world.like(user, companion)
    imported = world.users(1)[0]
    for seed in seeds:
        world.like(imported, seed, at=NOW - dt.timedelta(days=1))
    world.setting("item_learned_weight", "0")
    world.refresh_all()

    def companions_scored() -> set[uuid.UUID]:
        return set(item_neighbour_scored(world, imported, history=2)) & set(companions)

    assert companions_scored() == set(companions)  # a history of 2, and all five read
    world.setting("item_neighbor_history_limit", "3")
    assert len(companions_scored()) == 3


def test_an_unsynced_like_is_served_its_neighbours_at_once(world: World) -> None:
    taken, companion, other = world.present(), world.present(), world.present()
    for user in world.users(3):
        world.like(user, taken)
        world.like(user, companion)
    for user in world.users(6):
        world.like(user, other)
    user = world.users(1)[0]
    world.like(user, other)
    world.refresh_all()
    assert personalized(user)["items"][0] != companion
    world.like(user, taken)  # in main only: no job ran since
    result = personalized(user)
    assert result["items"][0] == companion and taken not in result["items"]


def test_a_neighbour_that_turns_private_or_unavailable_is_never_served(world: World) -> None:
    world.neighbours_alone()
    taken = world.present()
    turns_private, turns_unavailable, stays = world.present(), world.present(), world.present()
    for user in world.users(4):
        for present in (taken, turns_private, turns_unavailable, stays):
            world.like(user, present)
    user = world.users(1)[0]
    world.like(user, taken)
    add_crowd(world)
    world.refresh_all()
    assert set(personalized(user)["items"]) >= {turns_private, turns_unavailable, stays}

    world.main.execute(
        "UPDATE handpicked_presents SET user_id = %s WHERE id = %s", (uuid.uuid4(), turns_private)
    )
    world.main.execute("UPDATE handpicked_presents SET available = false WHERE id = %s", (turns_unavailable,))
    world.refresh()  # the presents' sync only: the item neighbours still list both
    listed = {present for present, _ in item_neighbours(world, taken)}
    assert turns_unavailable in listed
    for page, limit in ((1, 1), (2, 1), (1, 20)):
        items = personalized(user, page=page, limit=limit)["items"]
        assert turns_private not in items and turns_unavailable not in items
    assert personalized(user)["items"][0] == stays


@pytest.mark.parametrize(
    ("item_weight", "expected_first"), [("0", "user_neighbours"), ("1", "item_neighbours")]
)
def test_the_collaborative_blend_follows_its_weight(
    world: World, item_weight: str, expected_first: str
) -> None:
    world.neighbours_alone()
    shared = [world.present() for _ in range(3)]
    twins_choice, co_taken = world.present(), world.present()
    user, twin = world.users(2)
    for person in (user, twin):
        for present in shared:
            world.like(person, present)
    world.like(twin, twins_choice)  # the user's nearest neighbour took it
    for other in world.users(4):  # less near (more other presents), but many, and all took co_taken
        for present in [*shared, co_taken, world.present(), world.present()]:
            world.like(other, present)
    add_crowd(world)
    world.setting("max_similar_users", "1")  # user neighbours: only the nearest voter counts
    world.setting("collaborative_item_weight", item_weight)
    world.refresh_all()
    result = personalized(user)
    assert result["algorithm_used"] == "collaborative"
    first = {"user_neighbours": twins_choice, "item_neighbours": co_taken}[expected_first]
    assert result["items"][0] == first


def test_a_new_present_gets_its_list_when_the_rebuild_period_has_passed(world: World) -> None:
    """Between full similarity runs the lists are recomputed every item_neighbor_rebuild_hours (6),
    so a present people started taking together today has neighbours before tomorrow's full run."""
    old, new = world.present(), world.present()
    users = world.users(3)
    for user in users:
        world.like(user, old, NOW - dt.timedelta(days=1))
    world.refresh_all()
    for user in users:
        world.like(user, new)
    world.refresh("refresh_user_similarities")  # incremental
    world.refresh("refresh_item_neighbors")  # within the period: it only checks
    assert item_neighbours(world, new) == []
    assert last_item_neighbours_run(world) == (0, ["items.checked"])

    def lists_older_by(hours: int) -> None:
        world.recs.execute(
            "UPDATE recs.sync_state SET full_synced_at = full_synced_at - make_interval(hours => %s)"
            " WHERE source = 'item_neighbors'",
            (hours,),
        )

    lists_older_by(5)
    world.refresh("refresh_item_neighbors")  # 5 of 6 hours
    assert item_neighbours(world, new) == []
    lists_older_by(2)
    similarities_at = full_synced_at(world, "user_similarities")
    world.refresh("refresh_item_neighbors")
    assert [present for present, _ in item_neighbours(world, new)] == [old]
    assert last_item_neighbours_run(world) == (2, ["items.neighbors", "items.user_histories"])
    assert full_synced_at(world, "user_similarities") == similarities_at  # no full similarity run needed


def a_leaving_and_a_staying_user(world: World) -> uuid.UUID:
    """Two users who liked the same three presents, every job run; the first one's id."""
    presents = [world.present() for _ in range(3)]
    leaving, staying = world.users(2)
    for user in (leaving, staying):
        for present in presents:
            world.like(user, present)
    world.refresh_all()
    return leaving


def test_an_erased_users_history_goes_at_the_next_run_of_the_item_neighbours_job(world: World) -> None:
    leaving = a_leaving_and_a_staying_user(world)
    assert world.recs.execute("SELECT count(*) FROM recs.user_histories").fetchone() == (2,)
    world.recs.execute(
        "SELECT recs.erase_users(ARRAY(SELECT user_key FROM recs.users WHERE user_id = %s), 'api')",
        (leaving,),
    )
    world.main.execute("DELETE FROM handpicked_likes WHERE user_id = %s", (leaving,))
    world.refresh("refresh_item_neighbors")  # the lists are current: it only removes the history
    assert world.recs.execute("SELECT count(*) FROM recs.user_histories").fetchone() == (1,)
    assert last_item_neighbours_run(world) == (0, ["items.checked"])


def last_item_neighbours_run(world: World) -> tuple[int, list[str]]:
    """(rows, steps) of the last run of refresh_item_neighbors."""
    row = world.recs.execute(
        "SELECT rows, ARRAY(SELECT jsonb_object_keys(details -> 'steps_ms') ORDER BY 1) FROM recs.job_runs"
        " WHERE job = 'refresh_item_neighbors' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert row is not None
    return row[0], row[1]


def test_histories_emptied_by_a_crash_make_the_next_run_recompute_the_lists(world: World) -> None:
    """recs.user_histories is unlogged: after a crash it is empty while the lists stay. The next
    run recomputes both rather than leaving the learned weights nothing to read."""
    presents = [world.present() for _ in range(3)]
    for user in world.users(3):
        for present in presents:
            world.like(user, present)
    world.refresh_all()
    before = {present: item_neighbours(world, present) for present in presents}
    world.refresh("refresh_item_neighbors")
    assert last_item_neighbours_run(world) == (0, ["items.checked"])
    world.recs.execute("TRUNCATE recs.user_histories")
    world.refresh("refresh_item_neighbors")
    assert last_item_neighbours_run(world) == (3, ["items.neighbors", "items.user_histories"])
    assert world.recs.execute("SELECT count(*) FROM recs.user_histories").fetchone() == (3,)
    assert {present: item_neighbours(world, present) for present in presents} == before


def test_an_erasure_waits_for_a_run_that_recomputes_the_lists(world: World) -> None:
    """The job holds the refresh jobs' lock until it commits: an erasure that arrives meanwhile
    waits, so the job never commits the history of a user erased after it read them."""
    leaving = a_leaving_and_a_staying_user(world)
    world.recs.execute("DELETE FROM recs.sync_state WHERE source = 'item_neighbors'")  # recompute
    erased = threading.Event()

    def erase() -> None:
        with owner_connect() as owner:
            owner.execute(
                "SELECT recs.erase_users(ARRAY(SELECT user_key FROM recs.users WHERE user_id = %s), 'api')",
                (leaving,),
            )
        erased.set()

    eraser = threading.Thread(target=erase)
    try:
        with owner_connect() as owner, owner.transaction():
            assert owner.execute("SELECT recs.job_refresh_item_neighbors()").fetchone() == (3,)
            eraser.start()
            assert not erased.wait(1.5)  # held back by the running job
            assert owner.execute("SELECT count(*) FROM recs.user_histories").fetchone() == (2,)
        assert erased.wait(20)
    finally:
        if eraser.ident is not None:
            eraser.join(20)
    world.main.execute("DELETE FROM handpicked_likes WHERE user_id = %s", (leaving,))
    world.refresh("refresh_item_neighbors")
    assert world.recs.execute("SELECT count(*) FROM recs.user_histories").fetchone() == (1,)


def test_the_pair_budget_caps_each_users_history(world: World) -> None:
    presents = [world.present() for _ in range(5)]
    for user in world.users(3):
        for present in presents:
            world.like(user, present)

    def cap_and_lengths() -> tuple[int, set[int]]:
        row = world.recs.execute(
            "SELECT (details ->> 'item_history_cap')::int FROM recs.sync_state"
            " WHERE source = 'item_neighbors'"
        ).fetchone()
        lengths = world.recs.execute("SELECT cardinality(item_ids) FROM recs.user_histories").fetchall()
        assert row is not None
        return row[0], {length for (length,) in lengths}

    world.refresh_all()
    assert cap_and_lengths() == (1000, {5})  # 3 x 5^2 = 75 pairs: whole histories fit the budget
    # 3 x 5^2 = 75 and 3 x 2^2 = 12: a budget of 20 pairs caps each history at 2 (the ladder's next).
    world.setting("item_neighbor_pair_budget", "20")  # a changed setting makes the next run recompute
    world.refresh("refresh_item_neighbors")
    assert cap_and_lengths() == (2, {2})
    world.like(world.users(1)[0], presents[0])
    world.refresh("refresh_user_similarities")  # incremental: the lists and the cap they read stay
    world.refresh("refresh_item_neighbors")
    assert cap_and_lengths() == (2, {2})
