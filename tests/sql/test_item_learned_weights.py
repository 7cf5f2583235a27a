"""Learned item weights in SQL: the Cholesky solve, each present's ridge regression on its item
neighbours against numpy, the bounds on the solves, and the blend with the similarities."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import numpy as np
import psycopg
import pytest

from tests.conftest import app_connect, owner_connect
from tests.data import World
from tests.sql.test_item_neighbors import force_full_similarity_run, full_synced_at
from tests.sql.test_personalized import personalized


def solve(world: World, lower: list[float], b: list[float]) -> list[float]:
    row = world.recs.execute("SELECT recs.cholesky_solve(%s::float8[], %s::float8[])", (lower, b)).fetchone()
    assert row is not None
    return row[0]


def test_cholesky_solve_matches_numpy(world: World) -> None:
    assert solve(world, [4, 2, 3], [2, 1]) == pytest.approx([0.5, 0])  # 4x + 2y = 2, 2x + 3y = 1
    rng = np.random.default_rng(7)
    m = rng.normal(size=(6, 6))
    a = m @ m.T + 6 * np.eye(6)
    b = rng.normal(size=6)
    lower = [float(a[i, j]) for i in range(6) for j in range(i + 1)]
    assert solve(world, lower, [float(v) for v in b]) == pytest.approx(list(np.linalg.solve(a, b)))


@pytest.mark.parametrize(("lower", "b"), [([1, 2, 1], [1, 1]), ([1, 0], [1, 1])])
def test_cholesky_solve_refuses_a_matrix_that_is_not_positive_definite_or_of_the_wrong_size(
    world: World, lower: list[float], b: list[float]
) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        solve(world, lower, b)


def item_keys(world: World, presents: list[uuid.UUID]) -> list[int]:
    rows = dict(
        world.recs.execute(
            "SELECT present_id, item_id FROM recs.items WHERE present_id = ANY(%s)", (presents,)
        ).fetchall()
    )
    return [rows[present] for present in presents]


def learned(world: World) -> dict[tuple[int, int], float]:
    """recs.item_learned_weights as {(regressor, target): weight}."""
    rows = world.recs.execute(
        """SELECT w.item_id, t.target_id, t.weight
           FROM recs.item_learned_weights w
           CROSS JOIN LATERAL unnest(w.target_ids, w.weights) AS t(target_id, weight)"""
    ).fetchall()
    return {(source, target): weight for source, target, weight in rows}


def anchor_niche_popular(world: World) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """Three presents: three users took anchor and niche, four took anchor and popular."""
    anchor, niche, popular = world.present(), world.present(), world.present()
    for user in world.users(3):
        world.like(user, anchor)
        world.like(user, niche)
    for user in world.users(4):
        world.like(user, anchor)
        world.like(user, popular)
    return anchor, niche, popular


def take_overlapping(world: World, presents: list[uuid.UUID]) -> None:
    """Eight users, each liking three or four neighbouring presents (one clicked as well)."""
    for index, user in enumerate(world.users(8)):
        for present in presents[index % 4 : index % 4 + 3 + index % 2]:
            world.like(user, present)
    world.click(world.users(1)[0], presents[0], times=2)


def expected_weights(
    world: World,
    presents: list[uuid.UUID],
    regressors: int,
    ridge: float,
    prior: float,
    asymmetry: float,
    read_asymmetry: float | None = None,
) -> tuple[dict[tuple[int, int], float], dict[tuple[int, int], float]]:
    """In numpy from the interactions: each present's b = (G_RR + λI)⁻¹ (G_Rj + λ c s_Rj) on the first
    `regressors` of its list, as {(regressor, target): b}, and s_ij for the same pairs. s_ij is j's list
    entry for i, dot(i, j) / (|j|^(2a) |i|^(2(1 - a))) over the length-divided interaction vectors (a like
    1, each click 0.3 more) with a = `asymmetry`, times (|j|² / |i|²)^(2r - 1) with r = `read_asymmetry`
    (default a): dot(i, j) / (|i|^(2a) |j|^(2(1 - a))) when the two agree."""
    keys = item_keys(world, presents)
    index = {key: position for position, key in enumerate(keys)}
    x = np.zeros((0, len(keys)))
    for (user_key,) in world.recs.execute("SELECT DISTINCT user_key FROM recs.interactions ORDER BY 1"):
        row = np.zeros(len(keys))
        for item_id, liked, clicks in world.recs.execute(
            "SELECT item_id, liked_at IS NOT NULL, clicks FROM recs.interactions WHERE user_key = %s",
            (user_key,),
        ):
            row[index[item_id]] = (1.0 if liked else 0.0) + 0.3 * min(clicks, 10)
        x = np.vstack([x, row])
    gram = x.T @ x
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    dots = unit.T @ unit
    lengths = np.diag(dots)
    read = asymmetry if read_asymmetry is None else read_asymmetry
    listed = (
        dots / lengths[:, None] ** asymmetry / lengths[None, :] ** (1 - asymmetry)
    )  # [j, i]: j's entry for i
    similarity = listed.T * (lengths[None, :] / lengths[:, None]) ** (2 * read - 1)  # [i, j]
    weights: dict[tuple[int, int], float] = {}
    similarities: dict[tuple[int, int], float] = {}
    for target, neighbours in world.recs.execute("SELECT item_id, neighbor_ids FROM recs.item_neighbors"):
        j = index[target]
        chosen = [index[key] for key in neighbours[:regressors]]
        system = gram[np.ix_(chosen, chosen)] + ridge * np.eye(len(chosen))
        solved = np.linalg.solve(system, gram[chosen, j] + ridge * prior * similarity[chosen, j])
        for r, w in zip(chosen, solved, strict=True):
            if w != 0:
                weights[(keys[r], target)] = float(w)
                similarities[(keys[r], target)] = float(similarity[r, j])
    return weights, similarities


@pytest.mark.parametrize(("ridge", "prior"), [(2.0, 0.0), (2.0, 0.5), (1e6, 0.3)])
def test_each_presents_weights_are_a_ridge_regression_on_its_neighbours_shrunk_towards_the_similarities(
    world: World, ridge: float, prior: float
) -> None:
    """b = (G_RR + λI)⁻¹ (G_Rj + λ c s_Rj) against numpy: plain ridge at c = 0, and about c s where λ
    dwarfs the co-occurrences."""
    presents = [world.present() for _ in range(7)]
    take_overlapping(world, presents)
    world.setting("item_similarity_asymmetry", "0.7")
    world.setting("item_learned_neighbors", "3")
    world.setting("item_learned_ridge", str(ridge))
    world.setting("item_learned_prior", str(prior))
    world.refresh_all()

    expected, similarities = expected_weights(world, presents, 3, ridge, prior, 0.7)
    got = learned(world)
    assert got.keys() == expected.keys() and len(got) >= 7
    assert [got[pair] for pair in expected] == pytest.approx(list(expected.values()))
    if ridge > 1e5:  # the co-occurrences count for next to nothing: c times the similarities
        assert [got[pair] for pair in expected] == pytest.approx(
            [prior * similarities[p] for p in expected], rel=1e-3
        )


def test_the_prior_reads_the_asymmetry_the_lists_were_computed_with(world: World) -> None:
    """A new item_similarity_asymmetry applies when refresh_item_neighbors recomputes the lists: weights
    solved before that read the lists' own. With the lists' state row deleted, the setting's (not
    NULL, which would make every weight NULL and leave none)."""
    presents = [world.present() for _ in range(7)]
    take_overlapping(world, presents)
    world.setting("item_similarity_asymmetry", "0.7")
    world.setting("item_learned_neighbors", "3")
    world.setting("item_learned_ridge", "2")
    world.refresh_all()

    world.setting("item_similarity_asymmetry", "0.5")
    world.setting("item_learned_prior", "0.4")
    world.refresh("refresh_learned_weights")
    assert last_run(world) == (7, None)
    assert learned(world) == pytest.approx(expected_weights(world, presents, 3, 2.0, 0.4, 0.7)[0])

    world.recs.execute("DELETE FROM recs.sync_state WHERE source = 'item_neighbors'")
    world.refresh("refresh_learned_weights")  # the lists of 0.7, their entries read with the setting's 0.5
    assert last_run(world) == (7, None)
    assert learned(world) == pytest.approx(expected_weights(world, presents, 3, 2.0, 0.4, 0.7, 0.5)[0])


def value(world: World, query: str, *params: object) -> object:
    """The one value the query returns."""
    row = world.recs.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def last_run(world: World) -> tuple[int | None, str | None]:
    """(rows, error) of the last logged run of refresh_learned_weights."""
    row = world.recs.execute(
        "SELECT rows, error FROM recs.job_runs WHERE job = 'refresh_learned_weights' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert row is not None
    return row[0], row[1]


def last_steps(world: World) -> dict[str, float]:
    """The steps the last run of refresh_learned_weights marked."""
    steps = value(
        world,
        "SELECT details -> 'steps_ms' FROM recs.job_runs WHERE job = 'refresh_learned_weights'"
        " ORDER BY id DESC LIMIT 1",
    )
    assert isinstance(steps, dict)
    return steps


def lists_as_of(world: World) -> object:
    """When the run of refresh_item_neighbors that wrote the item neighbour lists started."""
    return full_synced_at(world, "item_neighbors")


def test_the_weights_job_solves_after_new_lists_or_a_setting_change_only(world: World) -> None:
    presents = [world.present() for _ in range(7)]
    take_overlapping(world, presents)
    world.refresh_all()
    everything = learned(world)
    assert {target for _, target in everything} == set(item_keys(world, presents))
    assert last_run(world) == (7, None)

    world.like(world.users(1)[0], presents[6])
    full_run = lists_as_of(world)
    world.refresh("refresh_user_similarities")  # incremental: the lists stay, so do the weights
    world.refresh("refresh_item_neighbors")
    assert lists_as_of(world) == full_run
    world.refresh("refresh_learned_weights")
    assert last_run(world) == (0, None)
    assert learned(world) == everything

    world.setting("item_learned_presents", "1")  # recomputes the weights, not the lists
    world.refresh("refresh_item_neighbors")
    assert lists_as_of(world) == full_run
    world.refresh("refresh_learned_weights")
    assert last_run(world) == (1, None)
    most_taken = world.recs.execute(
        "SELECT item_id FROM recs.item_stats ORDER BY users DESC, item_id LIMIT 1"
    ).fetchone()
    assert most_taken is not None
    assert {target for _, target in learned(world)} == {most_taken[0]}

    world.setting("item_learned_presents", "2000")
    world.refresh("refresh_learned_weights")
    assert last_run(world) == (7, None)
    solved_before = learned(world)
    world.setting("item_learned_ridge", "1")  # (a setting of the weights alone: the lists stay)
    force_full_similarity_run(world)  # new lists, the weights untouched until the job runs
    assert lists_as_of(world) != full_run
    assert learned(world) == solved_before
    world.setting("item_learned_ridge", "200")  # as they were solved with: only the lists changed
    world.refresh("refresh_learned_weights")
    assert last_run(world) == (7, None)
    world.refresh("refresh_learned_weights")
    assert last_run(world) == (0, None)

    world.setting("item_neighbor_pool_size", "50")  # bounds the targets kept per present too
    world.refresh("refresh_learned_weights")
    assert last_run(world) == (7, None)

    shrunk = learned(world)
    world.setting("item_learned_prior", "0")  # plain ridge: other weights, from the same lists
    world.refresh("refresh_learned_weights")
    assert last_run(world) == (7, None)
    assert learned(world).keys() == shrunk.keys() and learned(world) != shrunk

    world.setting("item_learned_neighbors", "0")
    world.refresh("refresh_learned_weights")
    assert learned(world) == {}
    assert "learned.written" in last_steps(world)  # recomputed to nothing, not only checked
    world.refresh("refresh_learned_weights")
    assert set(last_steps(world)) == {"learned.checked"}


MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def test_the_upgrades_to_the_weights_and_item_neighbour_jobs_recompute_nothing(world: World) -> None:
    """Migrations 0058 and 0061 on a database whose last full similarity run wrote the lists and
    recorded the learned settings among the item neighbours' (as before both): the next similarity
    run stays incremental, the item-neighbour and weights jobs only check, and 30 regressors become
    50 only where the default was kept."""
    take_overlapping(world, [world.present() for _ in range(5)])
    world.refresh_all()
    # The state as the similarity job recorded it before 0058: the lists were its full run's.
    world.recs.execute(
        """UPDATE recs.sync_state s
           SET full_synced_at = (i.details ->> 'lists_as_of')::timestamptz + interval '1 second',
               details = (s.details - 'interaction_weights')
                         || jsonb_build_object('item_neighbors', recs.item_neighbor_settings() || %s::jsonb,
                                               'item_history_cap', i.details -> 'item_history_cap')
           FROM recs.sync_state i
           WHERE s.source = 'user_similarities' AND i.source = 'item_neighbors'""",
        ('{"learned_neighbors": 30, "learned_ridge": 200, "learned_presents": 2000}',),
    )
    world.recs.execute(
        """UPDATE recs.sync_state l
           SET details = jsonb_set(l.details, '{lists_as_of}', to_jsonb(s.full_synced_at))
           FROM recs.sync_state s WHERE l.source = 'learned_weights' AND s.source = 'user_similarities'"""
    )
    world.recs.execute("DELETE FROM recs.sync_state WHERE source = 'item_neighbors'")

    def next_run_is_full() -> object:
        return value(
            world,
            "SELECT recs.similarity_is_full(s) FROM recs.sync_state s WHERE s.source = 'user_similarities'",
        )

    def regressors() -> object:
        return value(world, "SELECT value FROM recs.settings WHERE key = 'item_learned_neighbors'")

    def last_rows(job: str) -> object:
        return value(world, "SELECT rows FROM recs.job_runs WHERE job = %s ORDER BY id DESC LIMIT 1", job)

    assert next_run_is_full()  # what the recorded keys alone would do
    world.setting("item_learned_neighbors", "30")
    world.recs.execute((MIGRATIONS / "0058.learned-weights-job.sql").read_text())
    world.recs.execute((MIGRATIONS / "0061.item-neighbors-job.sql").read_text())
    assert not next_run_is_full()
    assert regressors() == "50"
    world.setting("item_learned_neighbors", "40")  # an operator's own value stays
    world.recs.execute((MIGRATIONS / "0058.learned-weights-job.sql").read_text())
    assert regressors() == "40"
    world.setting("item_learned_neighbors", "50")
    for job in ("refresh_user_similarities", "refresh_item_neighbors", "refresh_learned_weights"):
        world.refresh(job)
    assert last_rows("refresh_item_neighbors") == 0 and last_rows("refresh_learned_weights") == 0
    full_is_last = "SELECT full_synced_at = synced_at FROM recs.sync_state WHERE source = 'user_similarities'"
    assert value(world, full_is_last) is False  # the similarity run was incremental


def test_a_lists_run_in_progress_finishes_before_the_weights_are_read(world: World) -> None:
    """The weights job waits for a run of refresh_item_neighbors that is writing the lists, then
    solves from its lists and records that run: a run that read the old lists would record the
    old one."""
    take_overlapping(world, [world.present() for _ in range(7)])
    world.refresh_all()
    world.recs.execute("DELETE FROM recs.sync_state WHERE source = 'item_neighbors'")  # recompute
    lists_started = threading.Event()
    weights_done = threading.Event()

    def weights_run() -> None:
        lists_started.wait(10)
        with owner_connect() as owner:
            owner.execute("CALL recs.run_job('refresh_learned_weights')")
        weights_done.set()

    thread = threading.Thread(target=weights_run)
    thread.start()
    try:
        with owner_connect() as owner, owner.transaction():
            # The histories and the lists rewritten, not yet committed.
            assert owner.execute("SELECT recs.job_refresh_item_neighbors()").fetchone() == (7,)
            lists_started.set()
            assert not weights_done.wait(1.5)  # held back by the uncommitted lists
        thread.join(20)
    finally:
        lists_started.set()
        thread.join(20)
    assert weights_done.is_set()
    row = world.recs.execute(
        "SELECT (l.details ->> 'lists_as_of')::timestamptz = s.full_synced_at, l.details ->> 'presents'"
        " FROM recs.sync_state l, recs.sync_state s"
        " WHERE l.source = 'learned_weights' AND s.source = 'item_neighbors'"
    ).fetchone()
    assert row == (True, "7")


def test_a_weights_run_bumps_the_personalized_version_only_when_it_wrote(world: World) -> None:
    take_overlapping(world, [world.present() for _ in range(5)])
    world.refresh_all()

    def version() -> int:
        found = value(world, "SELECT version FROM recs.data_versions WHERE name = 'personalized'")
        assert isinstance(found, int)
        return found

    before = version()
    world.refresh("refresh_learned_weights")  # current: nothing written
    assert version() == before
    world.setting("item_learned_ridge", "50")
    after_setting = version()  # the settings trigger bumps it too
    world.refresh("refresh_learned_weights")
    assert version() > after_setting


@pytest.mark.parametrize(("share", "expected_first"), [("0", "niche"), ("1", "popular")])
def test_the_item_score_blends_similarities_and_learned_weights_by_their_share(
    world: World, share: str, expected_first: str
) -> None:
    world.neighbours_alone()
    # The user took `anchor`. Three of anchor's users also took `niche`, which no one else took;
    # four took `popular`, which twenty more took alone. The similarity divides by the popularity
    # of the present it leads to and ranks niche first; each present's regression on anchor (its
    # only neighbour) weighs anchor by their co-occurrences, 3 against 4, and ranks popular first.
    anchor, niche, popular = anchor_niche_popular(world)
    for user in world.users(20):
        world.like(user, popular)
    world.setting("item_learned_neighbors", "1")
    world.setting("item_learned_ridge", "1")
    world.setting("item_learned_weight", share)
    user = world.users(1)[0]
    world.like(user, anchor)
    world.refresh_all()
    result = personalized(user)
    assert result["algorithm_used"] == "content_based"
    assert result["items"][:2] == {"niche": [niche, popular], "popular": [popular, niche]}[expected_first]


def test_a_present_reached_through_the_learned_weights_alone_is_explained_by_liked_with(world: World) -> None:
    # The world of the test above, the item score on the learned weights alone; then anchor's
    # similarity list loses both presents (as a list bounded by its size would), so only the
    # learned weights bring them to the user's page.
    anchor, niche, popular = anchor_niche_popular(world)
    world.setting("item_learned_neighbors", "1")
    world.setting("item_learned_weight", "1")
    user = world.users(1)[0]
    world.like(user, anchor)
    world.refresh_all()
    (anchor_key,) = item_keys(world, [anchor])
    emptied = "UPDATE recs.item_neighbors SET neighbor_ids = '{}', similarities = '{}' WHERE item_id = %s"
    world.recs.execute(emptied, (anchor_key,))
    assert {target for source, target in learned(world) if source == anchor_key} == set(
        item_keys(world, [niche, popular])
    )
    with app_connect() as app:
        row = app.execute(
            "SELECT items, algorithm_used, details"
            " FROM api.personalized(%s, NULL, NULL, NULL, NULL, NULL, 1, 2, NULL, NULL, NULL, NULL, true)",
            (user,),
        ).fetchone()
    assert row is not None
    items, algorithm, details = row
    assert algorithm == "content_based" and sorted(items) == sorted([niche, popular])
    for detail in details:
        assert {"code": "liked_with", "present_ids": [str(anchor)]} in detail["reasons"], detail
        assert detail["score"] > 0
