"""Setting search on validation splits only: each suite dataset loaded once, every combination scored."""

from __future__ import annotations

import itertools
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg

from service.dsn import parse_pg_url
from service.jobs import run_jobs
from service.settings import Settings
from tools.evaluate import (
    RESULTS_DIR,
    Served,
    apply_overrides,
    format_difference,
    git_commit,
    load_dataset,
    load_train,
    number,
    paired_difference,
    recreate_databases,
    score_users,
    split,
    sync_demographics,
    validation_dataset,
)
from tools.suite import SUITE, locate, write_interactions


def parse_grid(entries: Sequence[str]) -> dict[str, list[str]]:
    """`key=v1,v2` entries as {key: [v1, v2]}; a malformed entry is a ValueError naming it."""
    grid: dict[str, list[str]] = {}
    for entry in entries:
        key, separator, values = entry.partition("=")
        choices = [value.strip() for value in values.split(",") if value.strip()]
        if not separator or not key.strip() or not choices:
            raise ValueError(f"--grid {entry!r}: expected KEY=VALUE[,VALUE...]")
        grid[key.strip()] = choices
    return grid


def combinations(grid: dict[str, list[str]]) -> list[dict[str, str]]:
    """Every combination of the grid's values (one empty combination for an empty grid)."""
    keys = list(grid)
    return [
        dict(zip(keys, values, strict=True)) for values in itertools.product(*(grid[key] for key in keys))
    ]


def scores_of(result: dict[str, Any]) -> dict[str, Any]:
    """The numbers a tuning table shows: overall NDCG and HR, each tier's, and cold start."""
    tiers = {tier: summary["ndcg10"] for tier, summary in result["tiers"].items()}
    cold = result["cold_start"]
    return {
        "ndcg10": result["overall"]["ndcg10"],
        "hr10": result["overall"]["hr10"],
        "tiers": tiers,
        "cold_demographic": [cold["demographic"]["ndcg10"], cold["demographic"]["hr10"]],
        "cold_global": [cold["global"]["ndcg10"], cold["global"]["hr10"]],
    }


def versus_first(now: Served, first: Served) -> dict[str, Any]:
    """A combination minus the first one of its dataset, per user on the same users (paired_difference):
    overall, and the demographic cold start where the dataset has demographics (else None). Whether a
    setting moves a metric by more than the noise of its users."""
    return {
        "overall": paired_difference(now.overall, first.overall),
        "cold_demographic": paired_difference(now.demographic, first.demographic)
        if first.demographic.users
        else None,
    }


def tune_dataset(
    superuser_url: str,
    settings: Settings,
    path: Path,
    grid: dict[str, list[str]],
    main_db: str,
    recs_db: str,
    echo: Callable[[str], None],
    validation_depth: int = 1,
) -> list[dict[str, Any]]:
    """The validation split of one dataset (split validation_depth times: 2 is the validation split's
    train split, split again) loaded once; each combination set, refreshed and scored, and every one
    after the first compared with the first, paired by user (versus_first)."""
    dataset = load_dataset(path)
    for _ in range(validation_depth):
        dataset = validation_dataset(dataset)
    data = split(dataset)
    target = recreate_databases(superuser_url, settings, main_db, recs_db)
    with psycopg.connect(parse_pg_url(superuser_url).with_dbname(main_db)) as main:
        load_train(main, dataset, data.train)
    rows = []
    first: Served | None = None
    with (
        psycopg.connect(target.recommendations_database_url, autocommit=True) as app,
        psycopg.connect(target.recommendations_owner_database_url, autocommit=True) as owner,
    ):
        sync_demographics(app, dataset)
        for combination in combinations(grid):
            apply_overrides(target, combination)
            run_jobs(target)
            result, served = score_users(app, owner, dataset, data)
            row = {"dataset": dataset.name, "settings": combination} | scores_of(result)
            if first is None:
                first = served
            else:
                row["versus_first"] = versus_first(served, first)
            rows.append(row)
            echo(format_row(row))
            for line in format_versus_first(row):
                echo(line)
    return rows


def format_row(row: dict[str, Any]) -> str:
    """One line: dataset, settings, overall NDCG/HR, per tier, cold start (four decimals: what separates
    settings on a validation split is often in the fourth)."""

    def shown(value: float | None) -> str:
        return number(value, 4)

    tiers = " ".join(f"{tier}={shown(value)}" for tier, value in sorted(row["tiers"].items()))
    demographic, global_ = row["cold_demographic"], row["cold_global"]
    settings = " ".join(f"{key}={value}" for key, value in row["settings"].items()) or "(defaults)"
    return (
        f"{row['dataset']:<34} {settings:<60} NDCG {shown(row['ndcg10'])} HR {shown(row['hr10'])}  {tiers}"
        f"  cold demo {shown(demographic[0])}/{shown(demographic[1])}"
        f" global {shown(global_[0])}/{shown(global_[1])}"
    )


VERSUS_FIRST_LABELS = {"overall": "overall", "cold_demographic": "cold start demographic"}


def format_versus_first(row: dict[str, Any]) -> list[str]:
    """The lines under a row: each paired difference from the first combination that has users (none
    for the first combination, or where a split has no test users or no demographics)."""
    return [
        f"  {format_difference(f'{VERSUS_FIRST_LABELS[key]} minus the first combination', difference)}"
        for key, difference in row.get("versus_first", {}).items()
        if difference is not None and difference["users"]
    ]


def run_tuning(
    superuser_url: str,
    settings: Settings,
    datasets_dir: Path,
    grid: dict[str, list[str]],
    main_db: str = "mysanta_eval_main",
    recs_db: str = "mysanta_eval_recs",
    results_dir: Path = RESULTS_DIR,
    echo: Callable[[str], None] = print,
    dataset: Path | None = None,
    validation_depth: int = 1,
) -> Path:
    """The suite's validation splits (or `dataset`'s alone) through every combination; writes tuning.json.
    validation_depth 2 tunes on the second validation splits (each validation split's train split, split
    again): a second look, on less train data (and, on a temporal split, earlier test likes). ValueError
    for a depth below 1."""
    if validation_depth < 1:
        raise ValueError(f"the validation depth must be 1 or more, got {validation_depth}")
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mysanta-tune-") as scratch:
        if dataset is not None:
            rows += tune_dataset(
                superuser_url, settings, dataset, grid, main_db, recs_db, echo, validation_depth
            )
        for entry in SUITE if dataset is None else ():
            source = locate(entry, datasets_dir)
            if source is None:
                echo(f"tune: {entry.name} skipped: no dataset at {datasets_dir / entry.source}")
                continue
            path = source
            if entry.like_offset is not None:
                path = write_interactions(source, Path(scratch) / f"{entry.name}.csv", entry.like_offset)
            rows += tune_dataset(
                superuser_url, settings, path, grid, main_db, recs_db, echo, validation_depth
            )
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / "tuning.json"
    report = {
        "grid": grid,
        "validation_depth": validation_depth,
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 1),
        "commit": git_commit(),
    }
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path
