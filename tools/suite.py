"""The default evaluation: MovieLens 100K (temporal and as a generic file) and FilmTrust, then a summary."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.migrate import PROJECT_DIR
from service.settings import Settings
from tools.evaluate import RESULTS_DIR, format_table, git_commit, number, run_evaluation
from tools.references import LABELS, METHODS

DEFAULT_DATASETS_DIR = PROJECT_DIR.parent / "shared" / "datasets"


@dataclass(frozen=True)
class SuiteDataset:
    """One dataset of the suite: its path under the datasets directory and how it is read."""

    name: str
    source: str
    # None: read as it is (a MovieLens 100K directory). A number: a whitespace-separated
    # `user item rating ...` file, converted to `user,item,weight` with weight = rating - like_offset.
    like_offset: float | None = None


SUITE = (
    SuiteDataset("movielens-100k", "movielens-100k"),
    SuiteDataset("movielens-100k-generic", "movielens-100k/u.data", like_offset=3.5),  # like: rating >= 4
    SuiteDataset("filmtrust", "filmtrust/ratings.txt", like_offset=2.75),  # like: rating >= 3
)


def write_interactions(ratings: Path, target: Path, like_offset: float) -> Path:
    """A `user item rating ...` file as the evaluator's generic `user,item,weight` file, weight = rating -
    like_offset (> 0: a like). Any further column (a timestamp) is left out, so the split is random."""
    lines = ["user,item,weight"]
    for line_number, line in enumerate(ratings.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        try:
            user, item, rating = fields[0], fields[1], float(fields[2])
        except (IndexError, ValueError) as error:
            raise ValueError(f"{ratings}:{line_number}: expected `user item rating`: {error}") from None
        lines.append(f"{user},{item},{rating - like_offset:.2f}")
    target.write_text("\n".join(lines) + "\n")
    return target


def locate(entry: SuiteDataset, datasets_dir: Path) -> Path | None:
    """The entry's source under datasets_dir, or None when it is not there."""
    path = datasets_dir / entry.source
    found = (path / "u.data").is_file() if entry.like_offset is None else path.is_file()
    return path if found else None


@dataclass
class SuiteResult:
    """The report of every dataset that ran, why the others did not, and the summary's path."""

    reports: dict[str, dict[str, Any]]
    skipped: dict[str, str]
    path: Path | None


def summary_row(report: dict[str, Any], path: Path) -> dict[str, Any]:
    """What the suite summary keeps of one dataset's report: users and NDCG@10 of each method."""
    return {
        "users": report["overall"]["users"],
        "product_ndcg10": report["overall"]["ndcg10"],
        "references_ndcg10": {name: m["ndcg10"] for name, m in report["references"].items()},
        "product_to_ease_ndcg10": report["product_to_ease_ndcg10"],
        "report": str(path.relative_to(PROJECT_DIR) if path.is_relative_to(PROJECT_DIR) else path),
    }


def format_summary(rows: dict[str, dict[str, Any]], skipped: dict[str, str]) -> str:
    """One line per dataset: the product's NDCG@10 beside each reference's, and product / EASE."""
    width = max([24, *(len(name) + 2 for name in [*rows, *skipped])])
    lines = [
        f"{'NDCG@10':<{width}}{'users':>7}{'product':>9}"
        + "".join(f"{LABELS[name]:>13}" for name in METHODS)
        + f"{'product/EASE':>14}"
    ]
    for name, row in rows.items():
        found = row["references_ndcg10"]
        lines.append(
            f"{name:<{width}}{row['users']:>7}{number(row['product_ndcg10']):>9}"
            + "".join(f"{number(found.get(method)):>13}" for method in METHODS)
            + f"{number(row['product_to_ease_ndcg10']):>14}"
        )
    lines += [f"{name:<{width}}skipped: {reason}" for name, reason in skipped.items()]
    return "\n".join(lines)


def run_suite(
    superuser_url: str,
    settings: Settings,
    datasets_dir: Path,
    main_db: str = "mysanta_eval_main",
    recs_db: str = "mysanta_eval_recs",
    results_dir: Path = RESULTS_DIR,
    overrides: dict[str, str] | None = None,
    validation: bool = False,
    echo: Callable[[str], None] = print,
) -> SuiteResult:
    """Every suite dataset found under datasets_dir through run_evaluation, its table echoed as it ends; a
    missing or unreadable dataset is skipped with the reason. Writes quality-suite.json when any ran."""
    started = time.perf_counter()
    reports: dict[str, dict[str, Any]] = {}
    rows: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="mysanta-eval-") as scratch:
        for entry in SUITE:
            source = locate(entry, datasets_dir)
            if source is None:
                skipped[entry.name] = f"no dataset at {datasets_dir / entry.source}"
                echo(f"evaluate: {entry.name} skipped: {skipped[entry.name]}")
                continue
            try:
                path = source
                if entry.like_offset is not None:
                    path = write_interactions(source, Path(scratch) / f"{entry.name}.csv", entry.like_offset)
                report, written = run_evaluation(
                    superuser_url, settings, path, main_db, recs_db, results_dir, overrides, validation
                )
            except ValueError as error:
                skipped[entry.name] = str(error)
                echo(f"evaluate: {entry.name} skipped: {error}")
                continue
            reports[report["dataset"]] = report
            rows[report["dataset"]] = summary_row(report, written)
            echo(f"{format_table(report)}\nevaluate: wrote {written}\n")
    if not reports:
        return SuiteResult(reports, skipped, None)
    summary = {
        "datasets": rows,
        "skipped": skipped,
        "seconds": round(time.perf_counter() - started, 1),
        "commit": git_commit(),
    }
    path = results_dir / ("quality-suite-validation.json" if validation else "quality-suite.json")
    path.write_text(json.dumps(summary, indent=2) + "\n")
    echo(format_summary(rows, skipped))
    return SuiteResult(reports, skipped, path)
