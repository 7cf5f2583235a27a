"""The offline evaluator on a hand-made interactions file: split, metrics, and the real SQL end to end."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
from psycopg import sql

from service.settings import settings_environ
from tests.conftest import MAIN_DB, SUPERUSER, SUPERUSER_URL, make_settings
from tools.__main__ import main
from tools.evaluate import (
    Dataset,
    Item,
    Rating,
    Scored,
    Split,
    apply_overrides,
    evaluate_dataset,
    format_limits,
    load_interactions,
    paired_difference,
    round_half_up_tenths,
    score,
    split,
)
from tools.references import (
    EASE_LAMBDA,
    RP3BETA_GRID,
    ease_weights,
    popularity_lists,
    reference_lists,
    rp3beta_gram,
    rp3beta_lists,
    train_matrix,
    user_knn_lists,
)
from tools.suite import SUITE, run_suite, write_interactions

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


def test_the_cold_start_difference_pairs_users_and_leaves_out_the_unpaired() -> None:
    demographic, global_ = Scored(), Scored()
    demographic.add("u1", ["a"], score(["a"], {"a"}))  # NDCG 1, a hit
    demographic.add("u2", ["x"], score(["x"], {"a"}))  # NDCG 0, no hit
    demographic.add("u4", ["a"], score(["a"], {"a"}))  # not on the other side: not paired
    global_.add("u3", ["a"], score(["a"], {"a"}))  # no demographics: not paired
    global_.add("u2", ["x", "a"], score(["x", "a"], {"a"}))  # NDCG 1 / log2(3), a hit
    global_.add("u1", ["x", "a"], score(["x", "a"], {"a"}))
    difference = paired_difference(demographic, global_)
    second = 1 / math.log2(3)
    ndcg_differences = [1 - second, -second]  # u1, u2 paired by user, not by position
    mean = sum(ndcg_differences) / 2
    sd = math.sqrt(sum((d - mean) ** 2 for d in ndcg_differences))
    assert difference == {
        "users": 2,
        "ndcg10": round(mean, 4),
        "ndcg10_ci95": round(1.96 * sd / math.sqrt(2), 4),
        "hr10": -0.5,  # u1 a hit on both sides, u2 only in global's list
        "hr10_ci95": round(1.96 * math.sqrt(0.5) / math.sqrt(2), 4),
    }
    assert paired_difference(Scored(), global_) == {
        "users": 0,
        "ndcg10": None,
        "ndcg10_ci95": None,
        "hr10": None,
        "hr10_ci95": None,
    }


def test_temporal_split_keeps_ratings_before_the_first_test_like(tiny_file: Path) -> None:
    data = split(load_interactions(tiny_file))
    assert data.test == {"u1": ["q"], "u2": ["s"], "u3": ["s"], "u4": ["s"]}
    train = {(r.user, r.item, r.liked) for r in data.train}
    assert {(u, i) for u, i, _ in train if u == "u1"} == {("u1", "a"), ("u1", "c"), ("u1", "k")}
    assert ("v5", "z", False) in train
    assert len(data.train) == 3 + 3 * 4 + 3


def _events(dataset: Dataset) -> list[tuple[str, str, bool, int]]:
    return sorted((r.user, r.item, r.liked, int(r.at.timestamp())) for r in dataset.ratings)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("header.csv", "user,item,weight,timestamp\nu1,a,1,100\nu1,b,-1,200\nu2,a,2,300\n"),
        ("no_header.csv", "u1,a,1,100\nu1,b,-1,200\nu2,a,2,300\n"),
        ("ratings.dat", "u1::a::1::100\nu1::b::-1::200\nu2::a::2::300\n"),  # MovieLens 1M's form
        ("semicolons.csv", "user;item;weight;timestamp\nu1;a;1;100\nu1;b;-1;200\nu2;a;2;300\n"),
        ("pipes.txt", "\nu1|a|1|100\nu1|b|-1|200\n\nu2|a|2|300\n"),  # blank lines are skipped
        ("crlf.csv", "u1,a,1,100\r\nu1,b,-1,200\r\nu2,a,2,300\r\n"),
    ],
)
def test_generic_files_come_with_or_without_a_header_and_with_any_usual_separator(
    tmp_path: Path, name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert _events(load_interactions(path)) == [
        ("u1", "a", True, 100),
        ("u1", "b", False, 200),
        ("u2", "a", True, 300),
    ]


def test_generic_ids_are_kept_as_written(tmp_path: Path) -> None:
    tsv = tmp_path / "artists.tsv"  # tab-separated files are not CSV-quoted: a quote is part of the id
    tsv.write_text('userID\tartistID\tweight\n7\t"Weird Al" Yankovic\t12\n7\t"Heroes\t3\n8\t李小龍\t1\n')
    assert [(r.user, r.item) for r in load_interactions(tsv).ratings] == [
        ("7", '"Weird Al" Yankovic'), ("7", '"Heroes'), ("8", "李小龍"),
    ]  # fmt: skip
    latin = tmp_path / "latin.csv"  # older datasets are Latin-1, not UTF-8 (\x85 is no line break)
    latin.write_bytes("user,item,weight\nu1,Bj\xf6rk,1\nu2,\xb2,1\n".encode("latin-1"))
    assert [r.item for r in load_interactions(latin).ratings] == ["Björk", "²"]
    odd = tmp_path / "odd.csv"  # no header; the first id holds a semicolon; a form feed in an id
    odd.write_text("u1,Rock;Pop,1\nu2,caf\x85e\x0cbar,1\n")
    assert [r.item for r in load_interactions(odd).ratings] == ["Rock;Pop", "caf\x85e\x0cbar"]
    assert [item.item for item in load_interactions(latin).items] == ["Björk", "²"]  # ² sorts as text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("user,item\nu1,a\n", r"bad.csv:1: expected rows user,item,weight\[,timestamp\]"),
        ("", r"bad.csv:1: expected rows"),
        ("user,item,weight\nu1,a,-1\nu2,a,0\n", "no row has a weight above 0"),
        ("user,item,weight\nu1,a,1\nu1,b,lots\n", r"bad.csv:3: expected user,item,weight"),
        ("user,item,weight,timestamp\nu1,a,1,1e300\n", r"bad.csv:2: expected"),
        ("user,item,weight\nu1,a\x00b,1\n", r"bad.csv:2: a user and an item id are needed, without NUL"),
        ("user,item,weight\nu1,,1\n", r"bad.csv:2: a user and an item id are needed"),
        ("user,item,weight\nu1,a,1\n\nu1,b,nan\n", r"bad.csv:4: the weight must be a finite number"),
        ('user,item,weight\nu1,"a\nb",1\nu1,c,x\n', r"bad.csv:4: expected"),  # a quoted newline spans lines
        ("user,item,weight\n", "no data rows after the header"),
    ],
)
def test_a_generic_file_that_cannot_be_evaluated_is_refused_naming_the_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_interactions(path)


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
    # The neighbours alone: in a world of four users the popularity prior would rank everyone by
    # popularity (tests/sql/test_popularity_prior.py).
    apply_overrides(make_settings(), {"popularity_prior_users": "0"})
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
    # Global popularity with each user's own train data hidden in turn (leave-one-user-out): for u1,
    # a, c, k have 3 likes as q has, whose likes are the latest (popularity decays): q first; for
    # u2..u4, s (no train interaction) stays sixth, after a, c, k, q and z (3 clicks). With u1's
    # likes counted, q would be fourth.
    cold = report["cold_start"]
    assert cold["demographic"] == {"users": 0, "ndcg10": None, "hr10": None}
    global_ndcg = (1 + 3 / math.log2(7)) / 4
    assert cold["global"] == {"users": 4, "ndcg10": round(global_ndcg, 4), "hr10": 1.0}
    assert report["cold_start_difference"]["users"] == 0  # no demographics in a generic file
    assert report["seen_items_recommended"] == 0
    # The references on the same split. Popularity (train likes): a, c, k, then q; u1 gets q, u2..u4 have
    # seen all four and get nothing (z and s have no train like). User-kNN: u1's neighbours vote q, u2's
    # (u1, u3, u4) liked nothing u2 has not seen. RP3beta and EASE: q, co-liked with a, c, k, for u1; s
    # and z, never co-liked with anything, score 0 for everyone.
    references = report["references"]
    assert list(references) == ["popularity", "user_knn_20", "user_knn_50", "rp3beta", "ease"]
    for name, measured in references.items():
        assert (name, measured["users"], measured["ndcg10"], measured["hr10"]) == (name, 4, 0.25, 0.25)
        assert report["tier_references"]["collaborative"][name]["ndcg10"] == 1.0
        assert report["tier_references"]["content_based"][name]["ndcg10"] == 0.0
        assert report["tier_references"]["popular"][name]["users"] == 0
    assert report["references_skipped"] == {}
    assert report["references_parameters"] == {"rp3beta": {"alpha": 0.8, "beta": 0.0}}  # every one ties
    # Paired with popularity's lists for the same users: u1 a hit at rank 1 on both sides; u2..u4 a
    # hit at rank 2 against none.
    no_difference = {"ndcg10": 0.0, "ndcg10_ci95": 0.0, "hr10": 0.0, "hr10_ci95": 0.0}
    assert report["tier_minus_popularity"] == {
        "collaborative": {"users": 1} | no_difference,
        "content_based": {"users": 3} | no_difference | {"ndcg10": round(ndcg_rank2, 4), "hr10": 1.0},
    }
    assert report["product_to_ease_ndcg10"] == round(overall["ndcg10"] / 0.25, 3)
    # The similarity job read all of it: whole histories (u2..u4: a, c, k, q), every user of a present.
    limits = report["limits"]
    assert (limits["longest_history"], limits["most_users_of_a_present"]) == (4, 4)
    assert limits["item_history_cap"] >= 4 and limits["user_candidates_per_present"] >= 4
    assert format_limits(limits) == []


def test_the_report_names_each_budget_that_cut_the_data() -> None:
    limits = {
        "item_history_cap": 50, "item_history_limit": 1000, "longest_history": 1497,
        "user_candidates_per_present": 186, "user_candidates_fixed_cap": 0, "most_users_of_a_present": 3488,
        "learned_presents": 2000, "presents_with_item_neighbors": 3706,
    }  # fmt: skip
    assert format_limits(limits) == [
        "budget: item neighbours read each user's 50 most recent interactions of up to 1,497"
        " (item_neighbor_pair_budget)",
        "budget: the neighbour search meets 186 users of a present of up to 3,488"
        " (similarity_candidate_budget)",
        "budget: learned item weights for the 2,000 most taken of 3,706 presents (item_learned_presents)",
    ]
    assert format_limits(limits | {"item_history_cap": 1497, "user_candidates_per_present": 3488}) == [
        "budget: learned item weights for the 2,000 most taken of 3,706 presents (item_learned_presents)"
    ]
    # Each line names the setting that set the limit: here the history limit and the fixed degree cap.
    fixed = limits | {"item_history_cap": 1000, "user_candidates_fixed_cap": 186, "learned_presents": 3706}
    assert format_limits(fixed) == [
        "budget: item neighbours read each user's 1,000 most recent interactions of up to 1,497"
        " (item_neighbor_history_limit)",
        "budget: the neighbour search meets 186 users of a present of up to 3,488"
        " (similarity_item_degree_cap)",
    ]


def handmade(train: dict[str, str], test: dict[str, str], catalogue: str) -> tuple[Dataset, Split]:
    """A split written by hand: per user the letters of their train items, capitals liked, small letters
    clicked only; per evaluated user the letters of their test likes; the catalogue in its order."""
    at = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    ratings = [
        Rating(user, item.lower(), item.isupper(), at) for user, items in train.items() for item in items
    ]
    items = [Item(item, item, None) for item in catalogue]
    data = Split(ratings, {user: list(items) for user, items in test.items()})
    return Dataset("handmade", ratings, items, timestamps=False), data


def test_popularity_ranks_by_train_likes_ties_in_catalogue_order_and_never_a_seen_item() -> None:
    # Likes: b 3, a 2, c 2, d none (a click only), e nothing: d and e are never recommended.
    dataset, data = handmade(
        {"u1": "B", "u2": "AB", "u3": "ABC", "u4": "Cd"}, {"u1": "a", "u4": "b"}, "abcde"
    )
    lists = reference_lists(dataset, data).lists["popularity"]
    assert lists == {"u1": ["a", "c"], "u4": ["b", "a"]}
    matrix = train_matrix(dataset, data)
    assert popularity_lists(matrix, [matrix.users.index("u2")]) == {1: [2]}  # u2 has seen a, b: c


def test_user_knn_sums_the_similarity_of_the_nearest_users_who_liked_an_item() -> None:
    # Cosine on likes with u1 (a, b): u2 (a, b, c) and u5 (a, b, f) 2/sqrt(6), u3 (a, d) 1/2, u4 (e) 0.
    dataset, data = handmade(
        {"u1": "AB", "u2": "ABC", "u3": "AD", "u4": "E", "u5": "ABF"}, {"u1": "c"}, "abcdef"
    )
    matrix = train_matrix(dataset, data)
    u1 = matrix.users.index("u1")

    def top(neighbours: int) -> list[str]:
        return [matrix.items[item] for item in user_knn_lists(matrix, [u1], neighbours)[u1]]

    assert top(1) == ["c"]  # u2 and u5 tie: the lower user id is the nearest
    assert top(2) == ["c", "f"]  # c and f tie at 2/sqrt(6): catalogue order
    assert top(3) == ["c", "f", "d"]
    assert top(50) == ["c", "f", "d"]  # u4 shares nothing: e is never voted for
    lists = reference_lists(dataset, data).lists
    assert lists["user_knn_20"] == lists["user_knn_50"] == {"u1": ["c", "f", "d"]}


def test_ease_weights_match_a_hand_computation() -> None:
    # X = [[1, 1], [1, 0]]: X'X + lambda I = [[2 + l, 1], [1, 1 + l]], P ~ [[1 + l, -1], [-1, 2 + l]],
    # B[i, j] = -P[i, j] / P[j, j]: B[a, b] = 1 / (2 + l), B[b, a] = 1 / (1 + l).
    dataset, data = handmade({"u1": "AB", "u2": "A"}, {"u2": "b", "u1": "a"}, "ab")
    got = ease_weights(train_matrix(dataset, data))
    assert got == pytest.approx(np.array([[0, 1 / (2 + EASE_LAMBDA)], [1 / (1 + EASE_LAMBDA), 0]]))
    assert reference_lists(dataset, data).lists["ease"] == {"u1": [], "u2": ["b"]}
    # A click without a like weighs 0.3: X = [[1, 0.3], [1, 0]], X'X = [[2, 0.3], [0.3, 0.09]].
    dataset, data = handmade({"u1": "Ab", "u2": "A"}, {"u2": "b"}, "ab")
    got = ease_weights(train_matrix(dataset, data))
    assert got == pytest.approx(np.array([[0, 0.3 / (2 + EASE_LAMBDA)], [0.3 / (0.09 + EASE_LAMBDA), 0]]))


def test_rp3beta_walks_match_a_hand_computation() -> None:
    # X = [[1, 1], [1, 0]] (u1: a, b; u2: a), users' degrees 2 and 1, items' 2 and 1. At alpha 1,
    # G[i, j] = sum over users x_ui x_uj / d_u: G[a, a] = 1/2 + 1, G[a, b] = G[b, a] = G[b, b] = 1/2.
    dataset, data = handmade({"u1": "AB", "u2": "A"}, {"u2": "b", "u1": "a"}, "ab")
    matrix = train_matrix(dataset, data)
    gram, degrees = rp3beta_gram(matrix, 1.0)
    assert gram == pytest.approx(np.array([[1.5, 0.5], [0.5, 0.5]]))
    assert degrees == pytest.approx(np.array([2.0, 1.0]))
    # A click without a like weighs 0.3 and enters the walk at the power alpha: X = [[1, 0.3], [1, 0]],
    # d_u1 = 1.3, so G[a, b] = 0.3^0.8 / 1.3^0.8 at alpha 0.8; b's degree is 0.3.
    dataset, data = handmade({"u1": "Ab", "u2": "A"}, {"u2": "b"}, "ab")
    matrix = train_matrix(dataset, data)
    gram, degrees = rp3beta_gram(matrix, 0.8)
    assert gram[0, 1] == pytest.approx(0.3**0.8 / 1.3**0.8)
    assert degrees == pytest.approx(np.array([2.0, 0.3]))


def test_rp3beta_penalises_popular_targets_and_its_reference_is_the_best_of_its_grid() -> None:
    # u1 liked a. a's other users also took p (taken by 11 users: popular) and r (by 2). The walk from a
    # reaches p through u2, u3 and u4 and r through u2 and u3, so without the penalty (and at beta 0.2)
    # p comes first; at beta 0.4, p's degree of 11 against r's 2 puts r first. The test like is r: the
    # first point of the grid with r first, alpha 0.8 and beta 0.4, is the reference.
    histories = {"u1": "A", "u2": "APR", "u3": "APR", "u4": "AP"} | {f"u{n}": "P" for n in range(5, 13)}
    dataset, data = handmade(histories, {"u1": "r"}, "apr")
    matrix = train_matrix(dataset, data)
    u1 = matrix.users.index("u1")
    for alpha in (0.8, 1.0):
        gram, degrees = rp3beta_gram(matrix, alpha)
        ranked = {
            beta: [matrix.items[item] for item in rp3beta_lists(matrix, [u1], gram, degrees, alpha, beta)[u1]]
            for beta in (0.0, 0.4)
        }
        assert ranked == {0.0: ["p", "r"], 0.4: ["r", "p"]}
    references = reference_lists(dataset, data)
    assert references.parameters == {"rp3beta": {"alpha": 0.8, "beta": 0.4}}
    assert (0.8, 0.4) in RP3BETA_GRID
    assert references.lists["rp3beta"] == {"u1": ["r", "p"]}


def test_ease_is_left_out_above_its_catalogue_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tools.references.EASE_MAX_ITEMS", 1)
    dataset, data = handmade({"u1": "AB", "u2": "A"}, {"u2": "b"}, "ab")
    references = reference_lists(dataset, data)
    assert "ease" not in references.lists
    assert references.skipped == {"ease": "catalogue of 2 items > 1"}


def test_ratings_convert_to_weights_whose_sign_is_the_like_threshold(tmp_path: Path) -> None:
    offsets = {entry.name: entry.like_offset for entry in SUITE}
    filmtrust = tmp_path / "ratings.txt"
    filmtrust.write_text("1 10 3.0\n1 11 2.5\n\n2 10 4\n")
    converted = write_interactions(filmtrust, tmp_path / "filmtrust.csv", offsets["filmtrust"] or 0)
    assert converted.read_text() == "user,item,weight\n1,10,0.25\n1,11,-0.25\n2,10,1.25\n"
    dataset = load_interactions(converted)
    assert (dataset.name, dataset.timestamps) == ("filmtrust", False)
    assert {(r.user, r.item, r.liked) for r in dataset.ratings} == {
        ("1", "10", True), ("1", "11", False), ("2", "10", True),
    }  # fmt: skip
    movielens = tmp_path / "u.data"
    movielens.write_text("196\t242\t3\t881250949\n186\t302\t4\t891717742\n")
    converted = write_interactions(
        movielens, tmp_path / "generic.csv", offsets["movielens-100k-generic"] or 0
    )
    assert converted.read_text() == "user,item,weight\n196,242,-0.50\n186,302,0.50\n"  # no timestamp
    assert not load_interactions(converted).timestamps
    movielens.write_text("196\t242\n")
    with pytest.raises(ValueError, match=r"u\.data:1: expected `user item rating`"):
        write_interactions(movielens, tmp_path / "generic.csv", 3.5)


EVAL_DBS = ("test_eval_main", "test_eval_recs")


@pytest.fixture
def eval_databases() -> Iterator[tuple[str, str]]:
    """The names run_evaluation recreates; dropped afterwards."""
    yield EVAL_DBS
    with psycopg.connect(SUPERUSER_URL, autocommit=True) as conn:
        for dbname in reversed(EVAL_DBS):
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))


def test_suite_skips_a_missing_dataset_and_runs_the_others(
    tmp_path: Path, eval_databases: tuple[str, str]
) -> None:
    (tmp_path / "filmtrust").mkdir()
    ratings = [
        f"{user} {item} {0.5 + (user * 7 + item * 3) % 8 * 0.5}"
        for user in range(1, 9)
        for item in range(1, 9)
    ]
    (tmp_path / "filmtrust" / "ratings.txt").write_text("\n".join(ratings) + "\n")
    shown: list[str] = []
    results = tmp_path / "results"
    results.mkdir()
    suite = run_suite(SUPERUSER_URL, make_settings(), tmp_path, *eval_databases, results, echo=shown.append)
    missing = f"no dataset at {tmp_path / 'movielens-100k'}"
    assert suite.skipped == {
        "movielens-100k": missing, "movielens-100k-generic": f"{missing}/u.data"
    }  # fmt: skip
    assert list(suite.reports) == ["filmtrust"]
    report = suite.reports["filmtrust"]
    assert {"split", "overall", "tiers", "cold_start", "seen_items_recommended", "refresh_seconds"} < set(
        report
    )
    assert set(report["references"]) == {"popularity", "user_knn_20", "user_knn_50", "rp3beta", "ease"}
    assert set(report["tier_references"]) == set(report["tiers"])
    assert json.loads((results / "quality-filmtrust.json").read_text())["references"] == report["references"]
    assert suite.path == results / "quality-suite.json"
    summary = json.loads(suite.path.read_text())
    assert summary["skipped"] == suite.skipped
    assert summary["datasets"]["filmtrust"]["product_ndcg10"] == report["overall"]["ndcg10"]
    assert (
        summary["datasets"]["filmtrust"]["references_ndcg10"]["ease"]
        == report["references"]["ease"]["ndcg10"]
    )
    assert shown[0] == f"evaluate: movielens-100k skipped: {missing}"
    assert shown[-1].splitlines()[1].startswith("filmtrust")


def test_a_suite_with_no_dataset_exits_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATASET", raising=False)
    for key, value in settings_environ(make_settings()).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit) as exited:
        main(["evaluate", "--superuser-url", SUPERUSER_URL, "--datasets-dir", str(tmp_path)])
    assert exited.value.code == 2
    printed = capsys.readouterr()
    assert "evaluate: filmtrust skipped: no dataset at" in printed.out
    assert "no dataset of the suite could run" in printed.err
