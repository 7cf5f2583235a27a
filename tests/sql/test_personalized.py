"""Personalised recommendations in SQL: similarities by hand, tiers, exclusions (fresh ones too),
top-up, filters, incremental similarity runs, and never a private present."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Any

import psycopg
import pytest

from tests.conftest import RECS_DB, SUPERUSER, app_connect
from tests.data import NOW, World


def personalized(
    user: uuid.UUID,
    *,
    geo_id: int | None = None,
    price_from: float | None = None,
    price_to: float | None = None,
    category: str | None = None,
    platform: str | None = None,
    page: int = 1,
    limit: int = 20,
    exclude: list[uuid.UUID] | None = None,
) -> dict[str, Any]:
    """api.personalized as the app role calls it."""
    with app_connect() as app:
        cursor = app.execute(
            "SELECT * FROM api.personalized(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (user, geo_id, price_from, price_to, category, platform, page, limit, exclude),
        )
        columns = [column.name for column in cursor.description or []]
        row = cursor.fetchone()
    assert row is not None
    return dict(zip(columns, row, strict=True))


def add_crowd(world: World, size: int = 10) -> None:
    """Users with unrelated tastes: with IUF, a present everybody has says nothing about anyone."""
    elsewhere = world.present(category="music")
    for person in world.users(size):
        world.like(person, elsewhere)


def neighbours(world: World, user: uuid.UUID) -> list[tuple[uuid.UUID, float]]:
    rows = world.recs.execute(
        "SELECT neighbor_id, similarity FROM recs.user_neighbors_readable WHERE user_id = %s ORDER BY rank",
        (user,),
    ).fetchall()
    return [(row[0], round(row[1], 4)) for row in rows]


def test_cosine_similarities_match_a_hand_computation(world: World) -> None:
    x, y, z, w = (world.present() for _ in range(4))
    a, b, c, d = world.users(4)
    for user, presents in ((a, (x, y)), (b, (x, y, z)), (c, (z,)), (d, (w,))):
        for present in presents:
            world.like(user, present)
    world.setting("min_interactions_for_similarity", "1")
    world.refresh_all()
    # IUF is the same for x, y, z (2 users each of 4) and cancels out: A.B = 2, |A| = sqrt 2, |B| = sqrt 3.
    assert neighbours(world, a) == [(b, round(2 / math.sqrt(6), 4))]
    assert neighbours(world, b) == [(a, round(2 / math.sqrt(6), 4)), (c, round(1 / math.sqrt(3), 4))]
    assert neighbours(world, c) == [(b, round(1 / math.sqrt(3), 4))]
    assert neighbours(world, d) == []


def test_a_rare_present_in_common_outweighs_a_popular_one(world: World) -> None:
    """By default (similarity_iuf on) a present weighs ln((1 + users) / (1 + its users)) in the
    user similarity: the user who shares a rarely taken present with a is a's nearest neighbour,
    not the one who shares the present everyone took, as plain cosines would have it."""
    popular, rare, other = world.present(), world.present(), world.present()
    a, rare_fan, popular_fan = world.users(3)
    for fan in world.users(5):
        world.like(fan, popular)
    for user, presents in ((a, (popular, rare)), (rare_fan, (rare, other)), (popular_fan, (popular,))):
        for present in presents:
            world.like(user, present)
    world.setting("min_interactions_for_similarity", "1")
    world.refresh_all()
    # 8 users: IUF popular ln(9/8) = 0.118, rare ln(9/3) = 1.099, other ln(9/2) = 1.504.
    iuf_popular, iuf_rare, iuf_other = math.log(9 / 8), math.log(3), math.log(9 / 2)
    length_a, length_rare_fan = math.hypot(iuf_popular, iuf_rare), math.hypot(iuf_rare, iuf_other)
    weighted = neighbours(world, a)
    assert weighted[0] == (rare_fan, round(iuf_rare**2 / (length_a * length_rare_fan), 4))
    assert dict(weighted)[popular_fan] == round(iuf_popular / length_a, 4)  # 0.107 against 0.587

    world.presents_weigh_evenly()  # plain cosines: 1 / sqrt 2 = 0.707 against 1 / 2
    world.refresh("refresh_user_similarities")
    even = neighbours(world, a)
    assert even[0][1] == round(1 / math.sqrt(2), 4)
    assert even[0][0] != rare_fan and dict(even)[rare_fan] == 0.5


def test_the_neighbour_pool_size_is_respected(world: World) -> None:
    shared = [world.present() for _ in range(3)]
    users = world.users(8)
    for index, user in enumerate(users):
        for present in shared[: 1 + index % 3]:
            world.like(user, present)
    world.setting("min_interactions_for_similarity", "1")
    world.setting("neighbor_pool_size", "2")
    world.refresh_all()
    counts = world.recs.execute("SELECT max(cardinality(neighbor_keys)) FROM recs.user_neighbors")
    assert counts.fetchone() == (2,)


def close_and_near_likers(world: World) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A user, one close neighbour who took close_pick and two nearer-equal ones who took shared_pick.

    Cosines: close {x,y,z,close_pick} 3/(sqrt 3 sqrt 4) = 0.866; near_a {x,y,shared_pick,e,e} and
    near_b {y,z,shared_pick,e,e} 2/(sqrt 3 sqrt 5) = 0.516 each. With K = 1 shared_pick scores
    0.516 < 0.866; with K = 2 (both near users read) it scores 1.033 > 0.866.
    Returns (user, close_pick, shared_pick).
    """
    world.presents_weigh_evenly()  # the cosines above weigh presents evenly
    x, y, z = (world.present() for _ in range(3))
    close_pick, shared_pick = world.present(), world.present()
    extras = [world.present() for _ in range(4)]
    user, close, near_a, near_b = world.users(4)
    for person, presents in (
        (user, (x, y, z)),
        (close, (x, y, z, close_pick)),
        (near_a, (x, y, shared_pick, extras[0], extras[1])),
        (near_b, (y, z, shared_pick, extras[2], extras[3])),
    ):
        for present in presents:
            world.like(person, present)
    return user, close_pick, shared_pick


@pytest.mark.parametrize(("k", "expected_first"), [(1, "close_pick"), (2, "shared_pick")])
def test_a_present_is_scored_by_its_k_most_similar_likers(world: World, k: int, expected_first: str) -> None:
    world.neighbours_alone()
    user, close_pick, shared_pick = close_and_near_likers(world)
    world.setting("max_similar_users", str(k))
    world.setting("collaborative_item_weight", "0")  # the user neighbours' votes alone, as worked out above
    world.refresh_all()
    result = personalized(user)
    assert result["algorithm_used"] == "collaborative"
    assert result["items"][0] == {"close_pick": close_pick, "shared_pick": shared_pick}[expected_first]


def test_a_smaller_pool_size_applies_to_the_ranking_before_the_pools_are_rebuilt(world: World) -> None:
    world.neighbours_alone()
    user, close_pick, shared_pick = close_and_near_likers(world)
    world.setting("max_similar_users", "2")
    world.setting("collaborative_item_weight", "0")
    world.refresh_all()
    assert personalized(user)["items"][0] == shared_pick
    world.setting("neighbor_pool_size", "2")  # the pools still hold 3 users until the next run
    assert personalized(user)["items"][0] == close_pick  # the pool is kept most similar first


@pytest.mark.parametrize(("half_life", "expected_first"), [("0", "old_pick"), ("1", "recent_pick")])
def test_a_neighbours_older_likes_are_weaker_votes(world: World, half_life: str, expected_first: str) -> None:
    world.neighbours_alone()
    old_pick, recent_pick, x, y, z1, z2 = (world.present() for _ in range(6))
    user, close, far = world.users(3)
    for present in (x, y):
        world.like(user, present)
    # Histories, oldest first. close {old_pick, x, y, recent_pick}: cosine 2/(sqrt 2 * 2) = 0.707;
    # far {old_pick, x, z1, z2}: 1/(sqrt 2 * 2) = 0.354. Full votes: old_pick 1.061 > recent_pick
    # 0.707. A half-life of 1 interaction: old_pick is 4th most recent for both, a vote of 2^-3
    # each (0.133 in all), below recent_pick (0.707, a full vote).
    for person, presents in ((close, (old_pick, x, y, recent_pick)), (far, (old_pick, x, z1, z2))):
        for days_ago, present in enumerate(reversed(presents)):
            world.like(person, present, at=NOW - dt.timedelta(days=days_ago))
    world.setting("min_interactions_for_similarity", "1")
    world.setting("collaborative_min_interactions", "2")
    world.setting("neighbor_history_half_life", half_life)
    world.presents_weigh_evenly()  # the cosines above weigh presents evenly (everyone took x)
    world.refresh_all()
    result = personalized(user, limit=2)
    assert result["tiers_used"] == ["collaborative"]
    assert result["items"][0] == {"old_pick": old_pick, "recent_pick": recent_pick}[expected_first]


def test_a_neighbours_simultaneous_likes_are_equal_votes_none_cut_by_id(world: World) -> None:
    # A neighbour whose whole history happened at one time (a source without timestamps): every
    # like is a full vote, and a history limit keeps or leaves out the tied likes together, never
    # by present id. With a half-life of 1, ranking them by id would make the low-id pick's vote
    # 2^-4 and the limit of 2 would drop it.
    low_pick, x, y, high_pick = (world.present() for _ in range(4))
    user, close, far = world.users(3)
    for present in (x, y):
        world.like(user, present, at=NOW)
    for present in (low_pick, x, y, high_pick):
        world.like(close, present, at=NOW - dt.timedelta(days=3))
    world.like(far, low_pick, at=NOW - dt.timedelta(days=3))
    world.like(far, x, at=NOW - dt.timedelta(days=3))
    world.setting("min_interactions_for_similarity", "1")
    world.setting("collaborative_min_interactions", "2")
    world.setting("neighbor_history_half_life", "1")
    world.setting("neighbor_history_limit", "2")
    world.presents_weigh_evenly()  # the cosines below weigh presents evenly (everyone took x)
    world.refresh_all()
    result = personalized(user, limit=2)
    assert result["tiers_used"] == ["collaborative"]
    # close (cosine 0.707) votes fully for both picks; far (0.5) adds a full vote for low_pick.
    assert result["items"] == [low_pick, high_pick]


def test_the_tier_follows_the_interaction_count(world: World) -> None:
    presents = [world.present(category="books") for _ in range(6)]
    others = world.users(5, "f", "25-34")
    for other in others:
        for present in presents:
            world.like(other, present)
    user = world.users(1, "f", "25-34")[0]
    add_crowd(world)
    world.refresh_all()
    tiers = []
    for present in presents[:3]:
        tiers.append(personalized(user)["algorithm_used"])
        world.like(user, present)
        world.refresh_all()
    tiers.append(personalized(user)["algorithm_used"])
    assert tiers == ["popular", "content_based", "content_based", "collaborative"]
    assert personalized(user)["interactions"] == 3


def test_collaborative_recommends_what_neighbours_liked_and_never_what_the_user_has(world: World) -> None:
    world.neighbours_alone()
    common = [world.present() for _ in range(3)]
    hidden_gem = world.present()  # liked by the user's neighbours only
    popular_elsewhere = world.present()
    user, twin, twin2 = world.users(3)
    crowd = world.users(10)
    for person in (user, twin, twin2):
        for present in common:
            world.like(person, present)
    world.like(twin, hidden_gem)
    world.like(twin2, hidden_gem)
    for person in crowd:
        world.like(person, popular_elsewhere)
    world.refresh_all()
    result = personalized(user)
    assert result["algorithm_used"] == "collaborative"
    assert result["items"][0] == hidden_gem
    assert not set(common) & set(result["items"])
    assert popular_elsewhere in result["items"]  # topped up from the next tiers
    assert result["tiers_used"][0] == "collaborative" and len(result["tiers_used"]) == 2
    assert len(result["items"]) == len(set(result["items"])) == result["total_items"] == 2


def test_an_interaction_newer_than_the_last_refresh_is_excluded_at_once(world: World) -> None:
    presents = [world.present() for _ in range(5)]
    fans = world.users(5)
    for fan in fans:
        for present in presents:
            world.like(fan, present)
    user = world.users(1)[0]
    world.refresh_all()
    first = personalized(user)
    assert first["interactions"] == 0 and first["fresh_checked"] is True
    world.like(user, first["items"][0])  # in main only: no refresh has run since
    world.click(user, first["items"][1])
    after = personalized(user)
    assert first["items"][0] not in after["items"] and first["items"][1] not in after["items"]
    assert after["interactions"] == 2 and after["algorithm_used"] == "content_based"
    assert after["total_items"] == 3


def test_excluded_ids_are_never_returned(world: World) -> None:
    presents = [world.present() for _ in range(6)]
    for fan in world.users(3):
        for present in presents:
            world.like(fan, present)
    user = world.users(1)[0]
    world.refresh_all()
    result = personalized(user, exclude=[*presents[:2], uuid.uuid4()])
    assert set(result["items"]) == set(presents[2:]) and result["total_items"] == 4


def test_no_private_present_even_when_every_neighbour_liked_it(world: World) -> None:
    owner = uuid.uuid4()
    private = world.present(owner=owner)
    shared = [world.present() for _ in range(3)]
    user, *neighbours_ = world.users(6)
    for person in [user, *neighbours_]:
        for present in shared:
            world.like(person, present)
    for person in neighbours_:
        world.like(person, private)
        world.click(person, private, times=5)
    extra = [world.present() for _ in range(4)]
    world.refresh_all()
    for page in (1, 2, 3):
        for limit in (1, 2, 5):
            assert private not in personalized(user, page=page, limit=limit)["items"]
    assert set(personalized(user)["items"]) == set(extra)


def test_filters_and_pagination_apply_to_every_tier(world: World) -> None:
    cheap = [world.present(price=5, category="toys") for _ in range(6)]
    dear = [world.present(price=500, category="toys") for _ in range(6)]
    user, twin = world.users(2)
    for person in (user, twin):
        world.like(person, cheap[0])
        world.like(person, dear[0])
        world.like(person, cheap[1])
    for present in cheap[2:] + dear[1:]:
        world.like(twin, present)
    world.refresh_all()
    pages = [personalized(user, price_to=10, limit=2, page=page) for page in (1, 2, 3)]
    served = [item for page in pages for item in page["items"]]
    assert served and set(served) == set(cheap[2:])
    assert [len(page["items"]) for page in pages] == [2, 2, 0]
    assert pages[0]["total_items"] == 4
    assert personalized(user, category="books")["items"] == []


def test_a_price_filtered_total_leaves_out_the_users_and_excluded_presents_in_range(world: World) -> None:
    in_range = [world.present(price=20 + index, category="toys") for index in range(8)]
    outside = [world.present(price=900, category="toys") for _ in range(3)]
    user, other = world.users(2)
    for present in (in_range[0], in_range[1], outside[0]):  # two of the user's presents are in range
        world.like(user, present)
    world.like(other, in_range[2])
    world.refresh_all()
    # 8 in range, less the user's 2 and 1 excluded (an excluded present out of range changes nothing).
    page = personalized(user, price_from=10, price_to=100, exclude=[in_range[3], outside[1], in_range[0]])
    assert page["total_items"] == 5
    assert personalized(user, price_from=10, price_to=100)["total_items"] == 6
    assert personalized(user, price_from=10, price_to=100, category="books")["total_items"] == 0


def test_pages_across_the_three_tiers_follow_one_ranking_without_repeats(world: World) -> None:
    world.neighbours_alone()
    common = [world.present(category="books", price=20) for _ in range(3)]
    from_neighbours = [world.present(category="games", price=500) for _ in range(3)]
    same_category = [world.present(category="books", price=25) for _ in range(4)]
    elsewhere = [world.present(category="music", price=900) for _ in range(4)]
    user, twin, twin2 = world.users(3)
    for person in (user, twin, twin2):
        for present in common:
            world.like(person, present)
    for present in from_neighbours:
        world.like(twin, present)
    world.like(twin2, from_neighbours[0])
    for rank, present in enumerate(same_category + elsewhere):  # popularity decides within a tier
        for fan in world.users(len(same_category + elsewhere) - rank):
            world.like(fan, present)
    world.refresh_all()
    whole = personalized(user, limit=100)
    assert whole["tiers_used"] == ["collaborative", "content_based", "popular"]
    assert whole["items"][0] == from_neighbours[0] and set(whole["items"][:3]) == set(from_neighbours)
    assert whole["items"][3:7] == same_category
    assert whole["items"][7:] == elsewhere and whole["total_items"] == 11
    for limit in (1, 2, 3, 4):
        pages = [personalized(user, limit=limit, page=page) for page in range(1, 12 // limit + 2)]
        assert [item for page in pages for item in page["items"]] == whole["items"]
        tiers = [page["algorithm_used"] for page in pages if page["items"]]
        assert tiers == sorted(tiers, key=["collaborative", "content_based", "popular"].index)
    assert personalized(user, limit=2, page=4)["tiers_used"] == ["content_based", "popular"]


def test_one_sessions_plans_serve_every_request_as_a_new_session_does(world: World) -> None:
    # api.personalized and recs.count_available keep one plan per session for what does not
    # depend on the filters: requests with and without filters, of every tier, one after another
    # on one connection (prepared, as the app's are) get what each gets on a connection of its own.
    books = [world.present(category="books", price=20 + n) for n in range(4)]
    games = [world.present(category="games", price=300 + n) for n in range(4)]
    user, twin, newcomer = world.users(3)
    for person in (user, twin):
        world.like(person, books[0])
        world.like(person, games[0])
        world.like(person, books[1])
    for present in books[2:] + games[1:]:
        world.like(twin, present)
    world.like(newcomer, games[3])
    add_crowd(world)
    world.refresh_all()
    stranger = uuid.uuid4()
    requests: list[tuple[uuid.UUID, float | None, float | None, str | None]] = [
        (user, None, None, None),
        (user, None, 100, None),
        (user, 10, None, "games"),
        (newcomer, None, None, None),
        (newcomer, 250, 400, None),
        (stranger, None, None, "books"),
        (stranger, None, None, None),
        (user, None, None, "music"),
    ]
    statement = (
        "SELECT items, total_items, tiers_used FROM api.personalized(%s, NULL, %s, %s, %s, NULL, 1, 5, NULL)"
    )
    with app_connect() as app:
        for _ in range(3):  # past the five custom plans after which a plan may be kept anyway
            for person, low, high, category in requests:
                row = app.execute(statement, (person, low, high, category), prepare=True).fetchone()
                alone = personalized(person, price_from=low, price_to=high, category=category, limit=5)
                assert row == (alone["items"], alone["total_items"], alone["tiers_used"])


def test_an_unknown_user_gets_popular(world: World) -> None:
    present = world.present()
    world.like(world.users(1)[0], present)
    world.refresh_all()
    result = personalized(uuid.uuid4())
    assert (
        result["algorithm_used"] == "popular" and result["items"] == [present] and result["interactions"] == 0
    )


def test_incremental_similarity_runs_recompute_only_changed_users(world: World) -> None:
    presents = [world.present() for _ in range(4)]
    users = world.users(6)
    for user in users:
        for present in presents[:3]:
            world.like(user, present)
    add_crowd(world)
    world.refresh_all()
    computed = world.recs.execute(
        "SELECT rows FROM recs.job_runs WHERE job = 'refresh_user_similarities' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert computed == (6,)  # the first run is a full one
    world.like(users[0], presents[3])
    world.refresh("refresh_user_similarities")
    computed = world.recs.execute(
        "SELECT rows FROM recs.job_runs WHERE job = 'refresh_user_similarities' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert computed == (1,)
    world.refresh("refresh_user_similarities")
    assert world.recs.execute(
        "SELECT rows FROM recs.job_runs WHERE job = 'refresh_user_similarities' ORDER BY id DESC LIMIT 1"
    ).fetchone() == (0,)
    assert len(neighbours(world, users[0])) == 5


def test_main_down_degrades_but_still_serves(world: World) -> None:
    presents = [world.present() for _ in range(3)]
    for fan in world.users(3):
        world.like(fan, presents[0])
    user = world.users(1)[0]
    world.refresh_all()
    world.recs.execute("ALTER SERVER main_db OPTIONS (SET port '1')")
    result = personalized(user)
    assert result["fresh_checked"] is False and result["items"][0] == presents[0]


def test_user_profiles_hold_counts_categories_and_price_band(world: World) -> None:
    books = [world.present(price=10 * (index + 1), category="books", platform="etsy") for index in range(4)]
    toy = world.present(price=100, category="toys", platform="ozon")
    user = world.users(1)[0]
    for present in books:
        world.like(user, present)
    world.click(user, toy, times=2)
    world.refresh("refresh_user_profiles")
    row = world.recs.execute(
        "SELECT p.interactions, p.likes, p.clicks, p.categories, p.platforms, p.price_p25, p.price_p75 "
        "FROM recs.user_profiles p JOIN recs.users u USING (user_key) WHERE u.user_id = %s",
        (user,),
    ).fetchone()
    assert row is not None
    interactions, likes, clicks, categories, platforms, p25, p75 = row
    assert (interactions, likes, clicks) == (5, 4, 2)
    assert set(categories) == {"books", "toys"} and categories["books"] > categories["toys"]
    assert platforms == ["etsy", "ozon"]
    assert (p25, p75) == (20.0, 40.0)


def test_user_profiles_break_equal_weights_by_name_whatever_order_they_are_summed_in(world: World) -> None:
    # 'zeta': a like, then three presents clicked once: 1 + 0.3 + 0.3 + 0.3, which float8 sums to
    # 1.9000000000000001 in that order; 'alpha': a like and three clicks on one present, 1 + 3 x 0.3
    # = 1.9. The same weight: alpha first, and alpha is the fifth category kept; a profile job that
    # summed them in another order (an incremental run, a full one) must not flip them.
    user = world.users(1)[0]
    zeta = [world.present(category="zeta", platform="zeta") for _ in range(4)]
    alpha = world.present(category="alpha", platform="alpha")
    world.like(user, zeta[0])
    for present in zeta[1:]:
        world.click(user, present)
    world.like(user, alpha)
    world.click(user, alpha, times=3)
    for category in ("c1", "c2", "c3", "c4"):
        for _ in range(2):
            world.like(user, world.present(category=category, platform=None))
    world.refresh("refresh_user_profiles")
    categories, platforms = world.recs.execute(
        "SELECT p.categories, p.platforms FROM recs.user_profiles p JOIN recs.users u USING (user_key)"
        " WHERE u.user_id = %s",
        (user,),
    ).fetchone() or (None, None)
    assert platforms == ["alpha", "zeta"]
    assert set(categories) == {"c1", "c2", "c3", "c4", "alpha"}


def test_zero_click_weight_is_a_valid_setting(world: World) -> None:
    clicked_only = world.users(1)[0]
    world.click(clicked_only, world.present())
    world.setting("click_weight", "0")
    world.refresh_all()  # no division by zero in profiles or similarities
    row = world.recs.execute("SELECT categories FROM recs.user_profiles").fetchone()
    assert row == ({},) or row == (None,)


def ranking_plan_and_pools(
    world: World, workers: str, *, full: bool = True
) -> tuple[str, list[tuple[Any, ...]]]:
    """A similarity run (full unless told) with this many parallel workers: the plan of its ranking
    statement (auto_explain, sent to this client) and the pools it wrote."""
    world.setting("similarity_parallel_workers", workers)
    if full:  # no state: the run is a full one
        world.recs.execute("DELETE FROM recs.sync_state WHERE source = 'user_similarities'")
    plans: list[str] = []
    with psycopg.connect(SUPERUSER.with_dbname(RECS_DB), autocommit=True) as job:
        job.add_notice_handler(lambda notice: plans.append(notice.message_primary or ""))
        job.execute("LOAD 'auto_explain'")
        for setting, value in (("log_min_duration", "0"), ("log_nested_statements", "on"),
                               ("log_analyze", "on"), ("log_level", "notice")):  # fmt: skip
            job.execute(f"SET auto_explain.{setting} = {value}")  # type: ignore[arg-type]
        job.execute("SET ROLE mysanta_owner")  # the job's role, whose user mapping reaches main
        job.execute("CALL recs.run_job('refresh_user_similarities')")
    ranking = [plan for plan in plans if "CREATE TEMP TABLE sim_pools" in plan]
    assert len(ranking) == 1, plans
    pools = world.recs.execute(
        "SELECT user_key, neighbor_keys, similarities FROM recs.user_neighbors ORDER BY user_key"
    ).fetchall()
    # Every candidate fits in the pool: compared as sets, so equal similarities may come in either
    # order (their last bits depend on the order of the sums).
    return ranking[0], [
        (key, sorted(zip(keys, [round(value, 9) for value in values], strict=True)))
        for key, keys, values in pools
    ]


def test_a_parallel_full_run_ranks_every_user_as_one_backend_does(world: World) -> None:
    presents = [world.present() for _ in range(12)]
    users = world.users(40)
    for index, user in enumerate(users):
        for offset in range(3 + index % 4):
            world.like(user, presents[(index * 5 + offset * 7) % len(presents)])
        world.click(user, presents[index % len(presents)], times=index % 3)

    parallel_plan, parallel = ranking_plan_and_pools(world, "1")
    single_plan, single = ranking_plan_and_pools(world, "0")
    assert len(parallel) == 40 and parallel == single
    # One parallel worker beside the backend scans the users, each ranked by a function scan.
    assert "Workers Launched: 1" in parallel_plan, parallel_plan
    assert (
        "Parallel Seq Scan on user_stats" in parallel_plan
        and "Function Scan on neighbor_pool" in parallel_plan
    )
    assert "Gather" not in single_plan and "Function Scan on neighbor_pool" in single_plan, single_plan


def test_candidate_budget_samples_the_users_of_the_most_liked_presents(world: World) -> None:
    hot, pair = world.present(), world.present()
    a, b, c, d = world.users(4)
    for user in (a, b, c, d):  # hot: 4 users, min(4, cap) x 3 candidate rows
        world.like(user, hot)
        world.like(user, world.present())
    for user in (a, b):  # pair: 2 users, min(2, cap) x 1 rows; the one-user presents cost nothing
        world.like(user, pair)
    for user in (c, d):  # two more presents each: c and d have smaller values in hot than a and b
        world.like(user, world.present())
        world.like(user, world.present())
    world.presents_weigh_evenly()  # everyone took hot: under IUF it would weigh 0

    def degree_cap() -> int:
        row = world.recs.execute(
            "SELECT (details ->> 'degree_cap')::int FROM recs.sync_state WHERE source = 'user_similarities'"
        ).fetchone()
        assert row is not None
        return int(row[0])

    def sampled() -> dict[int, int]:
        return dict(
            world.recs.execute("SELECT item_id, cardinality(user_keys) FROM recs.item_vectors").fetchall()
        )

    world.setting("similarity_candidate_budget", "7")  # cap 1: 3 + 1 rows, cap 2: 6 + 2
    world.refresh_all()
    item_of = dict(world.recs.execute("SELECT i.present_id, i.item_id FROM recs.items i").fetchall())
    assert degree_cap() == 1
    assert sampled()[item_of[hot]] == 1 and sampled()[item_of[pair]] == 1

    world.setting("similarity_candidate_budget", "8")  # a changed budget rebuilds everyone
    world.refresh("refresh_user_similarities")
    assert degree_cap() == 2
    assert sampled()[item_of[hot]] == 2 and sampled()[item_of[pair]] == 2
    # hot keeps its two users with the largest values, a and b (three presents each against four):
    # they are c's and d's candidates through it, and a and b meet through both hot and pair.
    hot_sample = set(
        world.recs.execute(
            "SELECT u.user_id FROM recs.item_vectors i CROSS JOIN LATERAL unnest(i.user_keys) k(user_key)"
            " JOIN recs.users u ON u.user_key = k.user_key WHERE i.item_id = %s",
            (item_of[hot],),
        ).fetchall()
    )
    assert hot_sample == {(a,), (b,)}
    for user in (c, d):
        assert {n for n, _ in neighbours(world, user)} == {row[0] for row in hot_sample} - {user}
    assert neighbours(world, a)[0][0] == b

    world.setting("similarity_candidate_budget", "14")  # within the budget: every user, exact cosines
    world.refresh("refresh_user_similarities")
    assert degree_cap() == 4
    assert {n for n, _ in neighbours(world, c)} == {a, b, d}

    world.setting("similarity_item_degree_cap", "3")  # a fixed cap still limits the budget's
    world.refresh("refresh_user_similarities")
    assert degree_cap() == 3
    assert sampled()[item_of[hot]] == 3


def test_a_sampled_present_keeps_the_users_with_the_largest_vector_values(world: World) -> None:
    hot = world.present()
    light, middle, heavy = world.users(3)
    for user, others in ((light, 2), (middle, 4), (heavy, 8)):  # more interactions: a smaller value
        world.like(user, hot)
        for _ in range(others):
            world.like(user, world.present())
    world.setting("similarity_item_degree_cap", "1")
    world.presents_weigh_evenly()  # everyone took hot: under IUF it would weigh 0
    world.refresh_all()
    row = world.recs.execute(
        "SELECT u.user_id FROM recs.item_vectors i JOIN recs.items p ON p.item_id = i.item_id"
        " JOIN recs.users u ON u.user_key = ALL (i.user_keys) WHERE p.present_id = %s",
        (hot,),
    ).fetchone()
    assert row == (light,)
    # middle and heavy meet light through hot, not each other (only light is sampled there).
    assert [n for n, _ in neighbours(world, middle)] == [light]
    assert [n for n, _ in neighbours(world, heavy)] == [light]
    assert neighbours(world, light) == []  # light's own candidates through hot: itself only


@pytest.mark.parametrize(
    ("key", "value"),
    [(None, None), ("like_weight", "2"), ("click_weight", "0.9"), ("similarity_click_cap", "2"),
     ("min_interactions_for_similarity", "2")],
)  # fmt: skip
def test_a_change_of_what_weighs_the_user_vectors_makes_the_next_similarity_run_full(
    world: World, key: str | None, value: str | None
) -> None:
    """The pools are weighed by the interaction weights and ranked over the users with enough
    interactions: after a change of either, the next run recomputes every user, not only the
    changed ones (which would mix old and new weights until the next full run)."""
    presents = [world.present() for _ in range(4)]
    for index, user in enumerate(world.users(4)):
        for present in presents[: 2 + index % 3]:
            world.like(user, present)
        world.click(user, presents[3], times=index)
    world.refresh_all()
    if key is not None and value is not None:
        world.setting(key, value)
    world.refresh("refresh_user_similarities")
    full = world.recs.execute(
        "SELECT details -> 'steps_ms' ? 'similarity.analyze' FROM recs.job_runs"
        " WHERE job = 'refresh_user_similarities' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert full == (key is not None,)


def test_a_full_similarity_run_clears_the_marks_of_users_erased_since(world: World) -> None:
    """An erasure marks the user for the similarity job; a full run, whose list of users to rank is
    recs.users (without them), clears their mark too, or it would stay for good where every run is
    a full one."""
    presents = [world.present() for _ in range(3)]
    users = world.users(3)
    for user in users:
        for present in presents:
            world.like(user, present)
    world.refresh_all()
    with app_connect() as app:
        app.execute("SELECT * FROM api.erase_user(%s)", (users[0],))
    assert world.recs.execute("SELECT count(*) FROM recs.dirty_users").fetchone() == (1,)
    world.setting("like_weight", "2")  # the next run is a full one
    world.refresh("refresh_user_similarities")
    assert world.recs.execute("SELECT count(*) FROM recs.dirty_users").fetchone() == (0,)


def test_an_incremental_run_keeps_present_and_user_weights_as_a_full_run_computes_them(world: World) -> None:
    presents = [world.present() for _ in range(5)]
    users = world.users(6)
    for index, user in enumerate(users):
        for present in presents[: 2 + index % 3]:
            world.like(user, present)
        world.click(user, presents[4], times=index)
    world.setting("similarity_iuf", "true")
    world.refresh_all()

    # Changes: a new like, a new user, a new present, and a like that disappears from main.
    world.like(users[0], presents[4])
    newcomer = world.users(1)[0]
    fresh = world.present()
    for present in (presents[0], presents[3], fresh):
        world.like(newcomer, present)
    world.main.execute(
        "DELETE FROM handpicked_likes WHERE user_id = %s AND handpicked_present_id = %s",
        (users[1], presents[1]),
    )
    # A full sync (it sees deletions); the similarity run stays incremental.
    world.recs.execute("UPDATE recs.sync_state SET full_synced_at = NULL WHERE source = 'decay'")
    world.refresh("refresh_user_similarities")
    run = world.recs.execute(
        "SELECT rows, details -> 'steps_ms' ? 'similarity.analyze' FROM recs.job_runs"
        " WHERE job = 'refresh_user_similarities' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert run == (3, False)  # incremental: users[0], users[1] and the newcomer

    expected_items = world.recs.execute(
        "SELECT item_id, count(*) FROM recs.interactions GROUP BY item_id ORDER BY item_id"
    ).fetchall()
    assert world.recs.execute("SELECT item_id, users FROM recs.item_stats ORDER BY item_id").fetchall() == (
        expected_items
    )
    vectors = world.recs.execute("SELECT user_key, item_id FROM recs.user_vectors ORDER BY 1, 2").fetchall()
    pairs = world.recs.execute("SELECT user_key, item_id FROM recs.interactions ORDER BY 1, 2").fetchall()
    assert vectors == pairs
    changed = world.recs.execute(
        "SELECT s.user_key, s.interactions, round(s.norm::numeric, 9) FROM recs.user_stats s"
        " JOIN recs.users u USING (user_key) WHERE u.user_id = ANY(%s) ORDER BY 1",
        ([users[0], users[1], newcomer],),
    ).fetchall()
    recomputed = world.recs.execute(
        """
        SELECT x.user_key, count(*), round(sqrt(sum((recs.interaction_weight(x.liked_at IS NOT NULL, x.clicks,
               1.0, 0.3, 5) * s.iuf) ^ 2))::numeric, 9)
        FROM recs.interactions x JOIN recs.item_stats s USING (item_id) JOIN recs.users u USING (user_key)
        WHERE u.user_id = ANY(%s) GROUP BY x.user_key ORDER BY 1
        """,
        ([users[0], users[1], newcomer],),
    ).fetchall()
    assert changed == recomputed and len(changed) == 3
    # The neighbour search's rows by present hold what user_vectors holds (no present is capped).
    by_present = (
        "SELECT item_id, array_agg(user_key ORDER BY user_key),"
        " array_agg(round(value::numeric, 9) ORDER BY user_key) FROM {} GROUP BY item_id ORDER BY item_id"
    )
    regrouped = world.recs.execute(by_present.format("recs.user_vectors")).fetchall()
    stored = world.recs.execute(
        by_present.format("recs.item_vectors, unnest(user_keys, vector_values) AS v(user_key, value)")
    ).fetchall()
    assert stored == regrouped and len(stored) == 6
    assert {n for n, _ in neighbours(world, newcomer)} >= {users[0]}


def test_an_incremental_run_patches_the_touched_presents_candidate_samples(
    world: World,
) -> None:
    presents = [world.present() for _ in range(4)]
    users = world.users(5)
    for user in users[:3]:  # presents[0]: three users, beyond a fixed cap of two (a sample of two)
        world.like(user, presents[0])
    for index, user in enumerate(users):  # presents[1]: users 0 and 3, [2]: 1 and 4, [3]: 2
        world.like(user, presents[1 + index % 3])
    world.setting("similarity_item_degree_cap", "2")
    world.refresh_all()
    item_of = dict(world.recs.execute("SELECT i.present_id, i.item_id FROM recs.items i").fetchall())
    user_of = dict(world.recs.execute("SELECT u.user_key, u.user_id FROM recs.users u").fetchall())

    by_present = (
        "SELECT item_id, array_agg(user_key ORDER BY user_key),"
        " array_agg(round(value::numeric, 9) ORDER BY user_key) FROM {} GROUP BY item_id ORDER BY item_id"
    )
    sample = (
        "(SELECT v.* FROM (SELECT v.*, row_number() OVER (PARTITION BY v.item_id"
        " ORDER BY v.value DESC, recs.candidate_hash(v.user_key, v.item_id)) AS place"
        " FROM recs.user_vectors v) v WHERE v.place <= 2) v"
    )
    stored_rows = "recs.item_vectors, unnest(user_keys, vector_values) AS v(user_key, value)"

    def stored() -> dict[int, tuple[list[int], list[float]]]:  # keys and values by present
        return {
            row[0]: (row[1], row[2]) for row in world.recs.execute(by_present.format(stored_rows)).fetchall()
        }

    def expected() -> dict[int, tuple[list[int], list[float]]]:
        return {row[0]: (row[1], row[2]) for row in world.recs.execute(by_present.format(sample)).fetchall()}

    def last_run_was_full() -> bool:
        row = world.recs.execute(
            "SELECT details -> 'steps_ms' ? 'similarity.analyze' FROM recs.job_runs"
            " WHERE job = 'refresh_user_similarities' ORDER BY id DESC LIMIT 1"
        ).fetchone()
        assert row is not None
        return bool(row[0])

    assert stored() == expected() and len(stored()[item_of[presents[0]]][0]) == 2
    # A sampled user of presents[0] leaves it (its row is one short until the next full run), users[3]
    # likes presents[2] (three users now: its sample patched from the previous row).
    leaving, staying = (user_of[key] for key in stored()[item_of[presents[0]]][0])
    world.main.execute(
        "DELETE FROM handpicked_likes WHERE user_id = %s AND handpicked_present_id = %s",
        (leaving, presents[0]),
    )
    world.like(users[3], presents[2])
    world.recs.execute(
        "UPDATE recs.sync_state SET full_synced_at = NULL WHERE source = 'decay'"
    )  # sees deletions
    world.refresh("refresh_user_similarities")
    assert not last_run_was_full()
    now, want = stored(), expected()
    assert [user_of[key] for key in now[item_of[presents[0]]][0]] == [staying]
    assert {item: keys for item, keys in now.items() if item != item_of[presents[0]]} == {
        item: keys for item, keys in want.items() if item != item_of[presents[0]]
    }
    assert len(now[item_of[presents[2]]][0]) == 2

    # The next full run samples presents[0] again.
    world.recs.execute("UPDATE recs.sync_state SET full_synced_at = NULL WHERE source = 'user_similarities'")
    world.refresh("refresh_user_similarities")
    assert last_run_was_full()
    assert stored() == expected() and len(stored()[item_of[presents[0]]][0]) == 2


def _rank_collaborative(world: World, user: uuid.UUID, depth: int, item_weight: float) -> list[int]:
    row = world.recs.execute(
        "SELECT recs.rank_collaborative(u.user_key, %s, NULL, NULL, NULL, NULL, NULL, '{}', '{}', %s)"
        " FROM recs.users u WHERE u.user_id = %s",
        (depth, item_weight, user),
    ).fetchone()
    assert row is not None
    return list(row[0])


def test_a_collaborative_page_is_the_head_of_the_whole_ranking_without_the_users_own(world: World) -> None:
    presents = [world.present(price=10 + index) for index in range(14)]
    user = world.users(1)[0]
    for present in presents[:4]:
        world.like(user, present)
    for index, fan in enumerate(world.users(8)):  # overlapping tastes: the user's presents score high
        for present in presents[: 6 + index]:
            world.like(fan, present)
    world.presents_weigh_evenly()  # everyone took the user's presents: under IUF they would weigh 0
    world.refresh_all()
    own = world.recs.execute(
        "SELECT x.item_id FROM recs.interactions x JOIN recs.users u USING (user_key) WHERE u.user_id = %s",
        (user,),
    ).fetchall()
    own_ids = {row[0] for row in own}
    assert len(own_ids) == 4
    for item_weight in (0.0, 0.4, 1.0):
        whole = _rank_collaborative(world, user, 1000, item_weight)
        assert len(whole) == 9 and not own_ids & set(whole)  # the 13 presents the fans took, less 4
        for depth in (1, 3, 7):  # the probes stop early: the same head as the whole ranking
            assert _rank_collaborative(world, user, depth, item_weight) == whole[:depth]
    # The item-neighbour ranking is recs.item_neighbor_scores in score order, the user's own left out.
    reference = world.recs.execute(
        "SELECT s.item_id FROM recs.users u, recs.item_neighbor_scores(u.user_key, '{}', 200, 3) s"
        " WHERE u.user_id = %s AND s.item_id <> ALL (%s) ORDER BY s.score DESC, s.item_id",
        (user, list(own_ids)),
    ).fetchall()
    assert _rank_collaborative(world, user, 1000, 1.0) == [row[0] for row in reference]


def test_an_incremental_run_ranks_the_changed_users_in_parallel_as_a_full_run_does(world: World) -> None:
    presents = [world.present() for _ in range(10)]
    users = world.users(30)
    for index, user in enumerate(users):
        for offset in range(3 + index % 3):
            world.like(user, presents[(index * 3 + offset * 7) % len(presents)])
    world.setting("similarity_iuf", "false")  # no present's weight moves with others' likes
    world.setting("similarity_parallel_workers", "1")
    world.refresh_all()
    changed = users[:12]
    newer = [world.present() for _ in range(3)]
    for index, user in enumerate(changed):  # new likes and clicks: only these users are ranked again
        world.like(user, newer[index % len(newer)])
        world.click(user, presents[index % len(presents)], times=2)

    plan, incremental = ranking_plan_and_pools(world, "1", full=False)
    assert "Workers Launched: 1" in plan and "Function Scan on neighbor_pool" in plan, plan
    assert world.recs.execute("SELECT count(*) FROM recs.dirty_users").fetchone() == (0,)
    run = world.recs.execute(
        "SELECT rows, details -> 'steps_ms' ? 'similarity.analyze' FROM recs.job_runs"
        " WHERE job = 'refresh_user_similarities' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert run == (12, False)  # incremental: the changed users only
    changed_keys = {
        row[0]
        for row in world.recs.execute(
            "SELECT user_key FROM recs.users WHERE user_id = ANY(%s)", (changed,)
        ).fetchall()
    }
    # A full run on the same data (same vectors: IUF is off) gives the changed users the same pools.
    _, full = ranking_plan_and_pools(world, "0")
    assert [pool for pool in incremental if pool[0] in changed_keys] == [
        pool for pool in full if pool[0] in changed_keys
    ]
    assert len(changed_keys) == 12
