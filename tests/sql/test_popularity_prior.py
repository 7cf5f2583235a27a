"""The popularity prior of the neighbourhood tiers: its share by the support of the user's presents,
the ranking it shifts towards the popular head, and how explain names a present it placed."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import app_connect
from tests.data import World
from tests.sql.test_item_neighbors import force_full_similarity_run
from tests.sql.test_personalized import personalized


def popularity_share(world: World, user: uuid.UUID, fresh: list[uuid.UUID] | None = None) -> float:
    """recs.popularity_share of a user, with these presents as unsynced interactions."""
    row = world.recs.execute(
        """SELECT recs.popularity_share(
                      (SELECT u.user_key FROM recs.users u WHERE u.user_id = %s),
                      ARRAY(SELECT i.item_id FROM recs.items i WHERE i.present_id = ANY (%s)))""",
        (user, fresh or []),
    ).fetchone()
    assert row is not None
    return float(row[0])


def explained(user: uuid.UUID, limit: int) -> dict[str, Any]:
    """api.personalized with explain, as the app role calls it."""
    with app_connect() as app:
        cursor = app.execute(
            "SELECT items, algorithm_used, details"
            " FROM api.personalized(%s, NULL, NULL, NULL, NULL, NULL, 1, %s, NULL, NULL, NULL, NULL, true)",
            (user, limit),
        )
        row = cursor.fetchone()
    assert row is not None
    return {"items": row[0], "algorithm_used": row[1], "details": row[2]}


def test_the_share_halves_with_every_prior_of_support_behind_the_users_presents(world: World) -> None:
    rare, common, unsynced = world.present(), world.present(), world.present()
    user = world.users(1)[0]
    world.like(user, rare)
    world.like(user, common)
    world.like(world.users(1)[0], rare)  # one other user took rare
    for index, other in enumerate(world.users(4)):  # four took common, one of them clicked only
        if index == 0:
            world.click(other, common)
        else:
            world.like(other, common)
    for other in world.users(2):
        world.click(other, unsynced)
    world.refresh_all()
    world.setting("popularity_prior_users", "10")
    # Other users' interactions with the user's presents: 1 (rare) + 4 (common) = 5, half the prior.
    assert popularity_share(world, user) == pytest.approx(0.5**0.5)
    # An unsynced present counts its takers too; one synced as well is counted once.
    assert popularity_share(world, user, [unsynced, common]) == pytest.approx(0.5**0.7)
    # Without any support (a present nobody else took, or no history) the prior is the whole ranking.
    assert popularity_share(world, world.users(1)[0]) == 1
    world.setting("popularity_prior_users", "0")
    assert popularity_share(world, user) == 0


def a_reader_of_one_rare_book(world: World) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A user who liked one rare present; the one other user who took it also took a niche present;
    a bestseller of another category eight others liked. Returns (user, niche, bestseller), refreshed."""
    rare, niche, bestseller = world.present(), world.present(), world.present(category="games")
    user, other = world.users(2)
    world.like(user, rare)
    world.like(other, rare)
    world.like(other, niche)
    for fan in world.users(8):
        world.like(fan, bestseller)
    world.refresh_all()
    return user, niche, bestseller


@pytest.mark.parametrize(("prior", "expected_first"), [("0", "niche"), ("1", "niche"), ("30", "bestseller")])
def test_a_ranking_few_others_back_is_shifted_to_the_popular_head(
    world: World, prior: str, expected_first: str
) -> None:
    # The item neighbours of the rare present are the one other reader's niche present: with no
    # prior it comes first; backed by one other user's interaction, a prior of 30 gives popularity
    # a share of 2^(-1/30) and the bestseller comes first; a prior of 1 a share of 1/2, not enough.
    user, niche, bestseller = a_reader_of_one_rare_book(world)
    world.setting("popularity_prior_users", prior)
    result = personalized(user, limit=2)
    assert result["algorithm_used"] == "content_based"
    expected = {"niche": [niche, bestseller], "bestseller": [bestseller, niche]}[expected_first]
    assert result["items"] == expected


def test_a_present_the_prior_alone_placed_is_explained_by_its_global_popularity(world: World) -> None:
    user, niche, bestseller = a_reader_of_one_rare_book(world)
    world.setting("popularity_prior_users", "30")
    result = explained(user, 2)
    assert result["items"] == [bestseller, niche]
    by_id = {uuid.UUID(detail["id"]): detail for detail in result["details"]}
    assert by_id[bestseller]["reasons"] == [
        {"code": "popular_in_segment", "level": "global", "gender": None, "age_group": None}
    ]
    global_score = world.recs.execute(
        "SELECT g.score FROM recs.popular_items g JOIN recs.items i USING (item_id)"
        " WHERE g.gender = '*' AND g.age_group = '*' AND i.present_id = %s",
        (bestseller,),
    ).fetchone()
    assert global_score is not None and by_id[bestseller]["score"] == pytest.approx(global_score[0], abs=1e-6)
    assert [reason["code"] for reason in by_id[niche]["reasons"]] == ["liked_with", "category_affinity"]


def test_well_backed_neighbours_keep_their_ranking(world: World) -> None:
    # Twenty other users took the user's present and a niche one with it: the support is 20, so
    # a prior of 4 leaves popularity a share of 2^-5 and the neighbours' niche comes first though
    # a bestseller has more fans.
    anchor, niche, bestseller = world.present(), world.present(), world.present()
    user = world.users(1)[0]
    world.like(user, anchor)
    for other in world.users(20):
        world.like(other, anchor)
        world.like(other, niche)
    for fan in world.users(30):
        world.like(fan, bestseller)
    world.refresh_all()
    world.setting("popularity_prior_users", "4")
    assert popularity_share(world, user) == pytest.approx(0.5**5)
    assert personalized(user, limit=2)["items"] == [niche, bestseller]


def test_the_prior_never_brings_the_users_own_or_an_excluded_present(world: World) -> None:
    # The global head's first two: one the user clicked, one the request excludes; the prior's
    # candidates meet the same checks as the neighbours'.
    user, niche, bestseller = a_reader_of_one_rare_book(world)
    runner_up = world.present(category="games")
    for fan in world.users(6):
        world.like(fan, runner_up)
    world.click(user, bestseller)
    world.refresh_all()
    world.setting("popularity_prior_users", "1000")
    result = personalized(user, limit=50, exclude=[runner_up])
    assert bestseller not in result["items"] and runner_up not in result["items"]
    assert result["items"] == [niche]


def test_a_page_is_the_head_of_the_whole_ranking_whatever_its_depth(world: World) -> None:
    # 200 presents of every popularity, so the prior's head (100) cuts through them, and a second
    # neighbour of the user's book (liked by its other reader and two fans: 3 likes, below the
    # head) that the prior must score the same at every depth: each depth ranks the whole
    # ranking's first presents.
    rare, niche, second = world.present(), world.present(), world.present(category="games")
    user, reader = world.users(2)
    world.like(user, rare)
    for present in (rare, niche, second):
        world.like(reader, present)
    fans = world.users(8)
    for fan in fans[:2]:
        world.like(fan, second)
    for index in range(200):
        present = world.present(category="games")
        for fan in fans[: 1 + index % 8]:
            world.like(fan, present)
    world.refresh_all()
    force_full_similarity_run(world)  # the item-neighbour lists are computed by full runs

    def ranked(depth: int) -> list[int]:
        row = world.recs.execute(
            "SELECT recs.rank_collaborative(u.user_key, %s, NULL, NULL, NULL, NULL, NULL, '{}', '{}', 1, 0.5)"
            " FROM recs.users u WHERE u.user_id = %s",
            (depth, user),
        ).fetchone()
        assert row is not None
        return list(row[0])

    whole = ranked(1000)
    assert len(whole) >= 100
    for depth in (1, 2, 3, 5, 60, 101, 120):
        assert ranked(depth) == whole[:depth]
