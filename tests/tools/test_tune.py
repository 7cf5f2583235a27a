"""The setting search: grid parsing, every combination scored on a validation split, bad knobs refused."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from service.dsn import parse_pg_url
from tests.conftest import SUPERUSER_URL, make_settings
from tools.evaluate import Scored, Served, load_interactions, score, split, validation_dataset
from tools.tune import combinations, format_versus_first, parse_grid, run_tuning, versus_first

TUNE_DBS = ("test_tune_main", "test_tune_recs")


@pytest.fixture
def tune_databases() -> Iterator[tuple[str, str]]:
    """The names run_tuning recreates; dropped afterwards."""
    yield TUNE_DBS
    with psycopg.connect(SUPERUSER_URL, autocommit=True) as conn:
        for dbname in reversed(TUNE_DBS):
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))


def test_a_grid_is_every_combination_of_its_values() -> None:
    grid = parse_grid(["collaborative_item_weight=0, 0.5", "item_similarity_asymmetry=0.7"])
    assert grid == {"collaborative_item_weight": ["0", "0.5"], "item_similarity_asymmetry": ["0.7"]}
    assert combinations(grid) == [
        {"collaborative_item_weight": "0", "item_similarity_asymmetry": "0.7"},
        {"collaborative_item_weight": "0.5", "item_similarity_asymmetry": "0.7"},
    ]
    assert combinations({}) == [{}]


@pytest.mark.parametrize("entry", ["collaborative_item_weight", "=0.5", "collaborative_item_weight=", "k=,"])
def test_a_malformed_grid_entry_is_named(entry: str) -> None:
    with pytest.raises(ValueError, match="expected KEY=VALUE"):
        parse_grid([entry])


def served(hits_by_user: dict[str, int], demographic: bool) -> Served:
    """Per-user results with the given hits in a list of 10 against 2 test likes, in the dict's order."""
    overall, cold = Scored(), Scored()
    for user, hits in hits_by_user.items():
        items = [f"hit{n}" for n in range(hits)] + [f"miss{n}" for n in range(10 - hits)]
        overall.add(user, items, score(items, ["hit0", "hit1"]))
        if demographic:
            cold.add(user, items, score(items, ["hit0", "hit1"]))
    return Served(overall, {"collaborative": overall}, cold, Scored())


def test_a_combination_is_paired_with_the_first_by_user_not_by_position() -> None:
    first = served({"a": 0, "b": 1, "c": 2}, demographic=True)
    # The same users in another order: paired by position, b's 1 hit would meet c's 0 and c's 2 b's 2.
    now = served({"a": 1, "c": 0, "b": 2}, demographic=True)
    ndcg = [score([f"hit{n}" for n in range(hits)] + ["miss"] * (10 - hits), ["hit0", "hit1"]).ndcg
            for hits in range(3)]  # fmt: skip
    by_user = [ndcg[1] - ndcg[0], ndcg[2] - ndcg[1], ndcg[0] - ndcg[2]]  # a, b, c
    difference = versus_first(now, first)["overall"]
    assert difference["users"] == 3
    assert difference["ndcg10"] == round(statistics.fmean(by_user), 4)
    assert difference["ndcg10_ci95"] == round(1.96 * statistics.stdev(by_user) / 3**0.5, 4)
    assert versus_first(now, first)["cold_demographic"] == difference
    without_demographics = versus_first(served({"a": 1}, False), served({"a": 0}, False))
    assert without_demographics["cold_demographic"] is None
    assert [line.split(",")[0] for line in format_versus_first({"versus_first": without_demographics})] == [
        "  overall minus the first combination"
    ]
    # A split without test users has nothing to pair: no line, not an error.
    empty = versus_first(served({}, True), served({}, True))
    assert empty["overall"]["users"] == 0 and format_versus_first({"versus_first": empty}) == []
    assert format_versus_first({}) == []


def filmtrust_dir(root: Path) -> Path:
    """A small FilmTrust-shaped dataset: 12 users x 10 films, ratings from a fixed pattern."""
    (root / "filmtrust").mkdir(parents=True)
    ratings = [
        f"{user} {item} {0.5 + (user * 7 + item * 3) % 8 * 0.5}"
        for user in range(1, 13)
        for item in range(1, 11)
    ]
    (root / "filmtrust" / "ratings.txt").write_text("\n".join(ratings) + "\n")
    return root


def test_each_combination_is_scored_on_the_validation_split(
    tmp_path: Path, tune_databases: tuple[str, str]
) -> None:
    shown: list[str] = []
    results = tmp_path / "results"
    grid = {"collaborative_item_weight": ["0", "1"]}
    path = run_tuning(
        SUPERUSER_URL,
        make_settings(),
        filmtrust_dir(tmp_path),
        grid,
        *tune_databases,
        results,
        echo=shown.append,
    )
    report = json.loads(path.read_text())
    assert path == results / "tuning.json" and report["grid"] == grid
    assert [(row["dataset"], row["settings"]) for row in report["rows"]] == [
        ("filmtrust-validation", {"collaborative_item_weight": "0"}),
        ("filmtrust-validation", {"collaborative_item_weight": "1"}),
    ]
    for row in report["rows"]:
        assert 0 <= row["ndcg10"] <= row["hr10"] <= 1 and row["tiers"]
    assert shown[0].startswith("tune: movielens-100k skipped")
    assert "filmtrust-validation" in shown[-2] and "collaborative_item_weight=1" in shown[-2]
    # The second combination against the first, paired over the same users: the mean of the per-user
    # differences is the difference of the means (each rounded to four decimals).
    first, second = report["rows"]
    assert "versus_first" not in first
    overall = second["versus_first"]["overall"]
    assert overall["users"] > 0 and overall["ndcg10_ci95"] >= 0
    assert overall["ndcg10"] == pytest.approx(second["ndcg10"] - first["ndcg10"], abs=2e-4)
    assert overall["hr10"] == pytest.approx(second["hr10"] - first["hr10"], abs=2e-4)
    assert second["versus_first"]["cold_demographic"] is None  # no demographics in FilmTrust
    assert shown[-1].startswith(f"  overall minus the first combination, paired over {overall['users']} ")
    # The recs database holds the last combination's settings, set as a DBA would.
    with psycopg.connect(parse_pg_url(SUPERUSER_URL).with_dbname(tune_databases[1])) as recs:
        assert recs.execute(
            "SELECT value FROM recs.settings WHERE key = 'collaborative_item_weight'"
        ).fetchone() == ("1",)


def test_an_unknown_or_out_of_range_setting_is_refused(
    tmp_path: Path, tune_databases: tuple[str, str]
) -> None:
    for knob, value in (("no_such_knob", "1"), ("collaborative_item_weight", "2")):
        with pytest.raises(ValueError, match=knob):
            run_tuning(SUPERUSER_URL, make_settings(), filmtrust_dir(tmp_path / knob), {knob: [value]},
                       *tune_databases, tmp_path / "results")  # fmt: skip
    assert not (tmp_path / "results").exists()


def test_a_file_given_is_tuned_on_alone(tmp_path: Path, tune_databases: tuple[str, str]) -> None:
    """DATASET=file tunes on that file's validation split, not on the suite's datasets."""
    rows = [
        f"{user}\t{item}\t{1 if (user + item) % 3 else -1}" for user in range(1, 16) for item in range(1, 13)
    ]
    file = tmp_path / "plays.tsv"
    file.write_text("user\titem\tweight\n" + "\n".join(rows) + "\n")
    shown: list[str] = []
    path = run_tuning(
        SUPERUSER_URL,
        make_settings(),
        filmtrust_dir(tmp_path / "suite"),
        {"max_similar_users": ["5", "20"]},
        *tune_databases,
        tmp_path / "results",
        echo=shown.append,
        dataset=file,
    )
    report = json.loads(path.read_text())
    assert [(row["dataset"], row["settings"]) for row in report["rows"]] == [
        ("plays-validation", {"max_similar_users": "5"}),
        ("plays-validation", {"max_similar_users": "20"}),
    ]
    assert [line.split()[0] for line in shown] == ["plays-validation", "plays-validation", "overall"]


def test_a_second_validation_split_is_the_validation_splits_train_split_split_again(
    tmp_path: Path, tune_databases: tuple[str, str]
) -> None:
    rows = [
        f"{user}\t{item}\t{1 if (user * item) % 4 else -1}" for user in range(1, 16) for item in range(1, 13)
    ]
    file = tmp_path / "plays.tsv"
    file.write_text("user\titem\tweight\n" + "\n".join(rows) + "\n")
    suite = filmtrust_dir(tmp_path / "suite")
    path = run_tuning(
        SUPERUSER_URL, make_settings(), suite, {"max_similar_users": ["5"]},
        *tune_databases, tmp_path / "results", echo=lambda _: None, dataset=file, validation_depth=2,
    )  # fmt: skip
    report = json.loads(path.read_text())
    assert report["validation_depth"] == 2
    assert [row["dataset"] for row in report["rows"]] == ["plays-validation-validation"]
    # What it loaded: the train likes of the validation split of the validation split.
    twice = validation_dataset(validation_dataset(load_interactions(file)))
    with psycopg.connect(parse_pg_url(SUPERUSER_URL).with_dbname(tune_databases[0])) as main:
        loaded = main.execute("SELECT count(*) FROM handpicked_likes").fetchone()
    assert loaded == (sum(rating.liked for rating in split(twice).train),)
    with pytest.raises(ValueError, match="validation depth"):
        run_tuning(SUPERUSER_URL, make_settings(), suite, {}, *tune_databases,
                   tmp_path / "refused", dataset=file, validation_depth=0)  # fmt: skip


def movielens_dir(root: Path) -> Path:
    """A small MovieLens-100K-shaped directory: 16 users of both genders and three age groups, 12
    films in two genres, ratings from a fixed pattern at increasing times."""
    directory = root / "movielens-100k"
    directory.mkdir(parents=True)
    (directory / "u.genre").write_text("Comedy|0\nDrama|1\n")
    (directory / "u.item").write_text(
        "".join(f"{item}|Film {item}|||x|{item % 2}|{1 - item % 2}\n" for item in range(1, 13))
    )
    (directory / "u.user").write_text(
        "".join(f"{user}|{(20, 30, 50)[user % 3]}|{'MF'[user % 2]}|other|00000\n" for user in range(1, 17))
    )
    ratings = [
        f"{user}\t{item}\t{1 + (user * 5 + item * 3 + user % 2 * item) % 5}\t{880000000 + user * 99 + item}"
        for user in range(1, 17)
        for item in range(1, 13)
        if (user + item) % 4
    ]
    (directory / "u.data").write_text("\n".join(ratings) + "\n")
    return directory


def test_each_combination_is_paired_with_the_first_overall_and_in_the_demographic_cold_start(
    tmp_path: Path, tune_databases: tuple[str, str]
) -> None:
    shown: list[str] = []
    grid = {
        "popular_lift_prior_users": ["0"],  # every group's own taste, unshrunk
        "min_segment_users": ["1"],  # and served, however small
        "popular_lift_exponent": ["0", "4"],
        "collaborative_item_weight": ["0", "1"],
    }
    path = run_tuning(
        SUPERUSER_URL, make_settings(), tmp_path / "suite", grid, *tune_databases, tmp_path / "results",
        echo=shown.append, dataset=movielens_dir(tmp_path),
    )  # fmt: skip
    first, *others = json.loads(path.read_text())["rows"]
    assert len(others) == 3 and "versus_first" not in first
    moved = set()
    for row in others:
        overall, cold = row["versus_first"]["overall"], row["versus_first"]["cold_demographic"]
        assert overall["ndcg10"] == pytest.approx(row["ndcg10"] - first["ndcg10"], abs=2e-4)
        assert cold["users"] > 0
        for metric, place in (("ndcg10", 0), ("hr10", 1)):
            moved_by = row["cold_demographic"][place] - first["cold_demographic"][place]
            assert cold[metric] == pytest.approx(moved_by, abs=2e-4)
        moved |= {key for key, difference in (("overall", overall), ("cold", cold)) if difference["ndcg10"]}
    # The grid moves both: the item share the personalised lists, the exponent the segments' lists.
    assert moved == {"overall", "cold"}
    assert sum("cold start demographic minus the first combination" in line for line in shown) == 3
