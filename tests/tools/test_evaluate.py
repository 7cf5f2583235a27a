"""The offline evaluator on a hand-made interactions file: split, metrics, and the real SQL end to end."""

from __future__ import annotations

import math
from pathlib import Path

import psycopg
import pytest

from tests.conftest import MAIN_DB, SUPERUSER, make_settings
from tools.evaluate import evaluate_dataset, load_interactions, round_half_up_tenths, score, split

# Presents a, c, k, q, s, z: their synthetic prices all lie in 53..131, so the content-based price band
# of any user holds every present and only popularity orders that tier. u1 likes a, c, k, then q (its
# test like), then sees z without liking it (dropped: after the first test like). u2..u4 like a, c, k,
# q, then s (their test like). v5..v7 only click z: no likes, so they are not evaluated and all their
# rows are train (they also make a, c, k less universal for the IUF weights).
TINY = """user,item,weight,timestamp
u1,a,5,1000001
u1,c,4,1000002
u1,k,4,1000003
u1,q,5,1000010
u1,z,0,1000011
{others}
v5,z,0,1000001
v6,z,0,1000001
v7,z,0,1000001
"""
OTHERS = "\n".join(
    f"{user},{item},1,{1000000 + t}"
    for user in ("u2", "u3", "u4")
    for t, item in ((1, "a"), (2, "c"), (3, "k"), (4, "q"), (20, "s"))
)


@pytest.fixture
def tiny_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.csv"
    path.write_text(TINY.format(others=OTHERS))
    return path


def test_round_half_up_is_exact() -> None:
    assert [round_half_up_tenths(2, n) for n in (1, 2, 3, 5, 7, 8, 12, 13)] == [0, 0, 1, 1, 1, 2, 2, 3]
    assert round_half_up_tenths(5, 1) == 1  # 0.5 rounds up (Python's round() would give 0)


def test_metrics_match_a_hand_computation() -> None:
    got = score(["x", "a", "y", "b"], {"a", "b", "c"})
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert (got.hits, got.precision, got.hit) == (2, 0.2, 1.0)
    assert got.recall == pytest.approx(2 / 3)
    assert got.ndcg == pytest.approx(dcg / idcg)
    assert score(["a", "x"], {"a"}).ndcg == 1.0
    assert score([f"x{i}" for i in range(10)] + ["a"], {"a"}).hit == 0.0  # only the first 10 count


def test_temporal_split_keeps_ratings_before_the_first_test_like(tiny_file: Path) -> None:
    data = split(load_interactions(tiny_file))
    assert data.test == {"u1": ["q"], "u2": ["s"], "u3": ["s"], "u4": ["s"]}
    train = {(r.user, r.item, r.liked) for r in data.train}
    assert {(u, i) for u, i, _ in train if u == "u1"} == {("u1", "a"), ("u1", "c"), ("u1", "k")}
    assert ("v5", "z", False) in train
    assert len(data.train) == 3 + 3 * 4 + 3


def test_random_split_without_timestamps_is_seeded_and_takes_a_fifth(tmp_path: Path) -> None:
    path = tmp_path / "plain.tsv"
    rows = [f"{user}\t{item}\t1" for user in range(1, 4) for item in range(1, 5 * user + 3)]
    path.write_text("user\titem\tweight\n" + "\n".join(rows) + "\n")
    first, second = split(load_interactions(path)), split(load_interactions(path))
    assert first.test == second.test
    assert [len(first.test[str(user)]) for user in (1, 2, 3)] == [1, 2, 3]  # 7, 12, 17 likes
    held = {(user, item) for user, items in first.test.items() for item in items}
    assert not held & {(r.user, r.item) for r in first.train}
    assert len(first.train) == 7 + 12 + 17 - 6


def test_tiny_file_through_the_real_sql(databases: tuple[psycopg.Connection, ...], tiny_file: Path) -> None:
    report = evaluate_dataset(make_settings(), SUPERUSER.with_dbname(MAIN_DB), load_interactions(tiny_file))
    assert report["split"] | {"demographics_synced": 0} == {
        "users": 4,
        "test_likes": 4,
        "train_rows": 18,
        "train_likes": 15,
        "catalogue": 6,
        "demographics_synced": 0,
    }
    # u1: its neighbours u2..u4 all liked q, the only present of theirs u1 has not seen: rank 1.
    # u2..u4: nothing new from neighbours; then popularity without their own presents: z (clicked
    # by v5..v7), then s (no train interaction at all): rank 2. That first item comes from the
    # content-based tier, so they are grouped there.
    ndcg_rank2 = 1 / math.log2(3)
    tiers = report["tiers"]
    assert tiers["collaborative"] | {"ndcg10_ci95": 0} == {
        "users": 1, "ndcg10": 1.0, "ndcg10_ci95": 0, "p10": 0.1, "r10": 1.0, "hr10": 1.0, "cov10": 0.5,
    }  # fmt: skip
    assert tiers["content_based"]["users"] == 3
    assert tiers["content_based"]["ndcg10"] == round(ndcg_rank2, 4)
    assert tiers["content_based"]["cov10"] == round(2 / 6, 4)
    assert tiers["popular"]["users"] == 0
    overall = report["overall"]
    ndcgs = [1.0, ndcg_rank2, ndcg_rank2, ndcg_rank2]
    mean = sum(ndcgs) / 4
    sd = math.sqrt(sum((x - mean) ** 2 for x in ndcgs) / 3)
    assert overall == {
        "users": 4,
        "ndcg10": round(mean, 4),
        "ndcg10_ci95": round(1.96 * sd / 2, 4),
        "p10": 0.1,
        "r10": 1.0,
        "hr10": 1.0,
        "cov10": 0.5,  # q, s, z of six presents
    }
    # Global popularity: a, c, k (4 likes), q (3), z (3 clicks), s (none): q at 4 for u1, s at 6 for the rest.
    cold = report["cold_start"]
    assert cold["demographic"] == {"users": 0, "ndcg10": None, "hr10": None}
    global_ndcg = (1 / math.log2(5) + 3 / math.log2(7)) / 4
    assert cold["global"] == {"users": 4, "ndcg10": round(global_ndcg, 4), "hr10": 1.0}
    assert report["seen_items_recommended"] == 0
