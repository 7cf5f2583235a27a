"""Offline quality evaluation: a dataset's train split in fresh databases, scored through the real api.*."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import itertools
import json
import logging
import math
import statistics
import subprocess
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import psycopg
from psycopg import sql

from service.bootstrap import bootstrap
from service.dsn import parse_pg_url
from service.jobs import run_jobs
from service.migrate import PROJECT_DIR, migrate
from service.models import age_group_of_age
from service.settings import Settings

log = logging.getLogger("tools.evaluate")

K = 10
TIERS = ("popular", "content_based", "collaborative")
RESULTS_DIR = PROJECT_DIR / "bench" / "results"
# Every uuid the evaluator writes is derived from the dataset's own ids: two runs load the same rows.
NAMESPACE = uuid.UUID("6f1c2a52-94a3-4f0e-9d55-3b8f3c1d7e21")
# Generic files without timestamps: every event happens at BASE_TIME (a file's row order is no time).
BASE_TIME = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
SEED = 42
TEST_SHARE_TENTHS = 2  # 20 % of each user's likes go to test
LIKE_MIN_RATING = 4


@dataclass(frozen=True)
class Rating:
    """One (user, item) event: a click, and a like when liked; at is the position in time."""

    user: str
    item: str
    liked: bool
    at: dt.datetime


@dataclass(frozen=True)
class Item:
    """A catalogue entry, loaded as a public present."""

    item: str
    title: str
    category: str | None


@dataclass
class Dataset:
    """What an evaluation needs: the events, the catalogue and (optionally) demographics."""

    name: str
    ratings: list[Rating]
    items: list[Item]
    timestamps: bool
    demographics: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class Split:
    """Train events (loaded into main) and the held-out likes of each evaluated user."""

    train: list[Rating]
    test: dict[str, list[str]]


@dataclass(frozen=True)
class UserScore:
    """The metrics @K of one user's list against their test likes."""

    hits: int
    precision: float
    recall: float
    ndcg: float
    hit: float


def id_key(value: str) -> tuple[int, int, str]:
    """Sort numeric ids as numbers (MovieLens order), others as text after them."""
    return (0, int(value), "") if value.isascii() and value.isdigit() else (1, 0, value)


def round_half_up_tenths(tenths: int, count: int) -> int:
    """round-half-up(tenths / 10 x count) in exact integer arithmetic."""
    return (2 * tenths * count + 10) // 20


def load_movielens(directory: Path) -> Dataset:
    """MovieLens 100K: u.data ratings (like = rating >= 4), u.item first genre, u.user gender and age."""
    genres = [
        line.split("|")[0]
        for line in (directory / "u.genre").read_text(encoding="latin-1").splitlines()
        if line.strip()
    ]
    items = []
    for line in (directory / "u.item").read_text(encoding="latin-1").splitlines():
        if not line.strip():
            continue
        fields = line.split("|")
        flags = fields[5 : 5 + len(genres)]
        category = next((genre for genre, flag in zip(genres, flags, strict=True) if flag == "1"), None)
        items.append(Item(fields[0], fields[1], category))
    ratings = []
    for line in (directory / "u.data").read_text().splitlines():
        if not line.strip():
            continue
        user, item, rating, stamp = line.split("\t")
        at = dt.datetime.fromtimestamp(int(stamp), dt.UTC)
        ratings.append(Rating(user, item, int(rating) >= LIKE_MIN_RATING, at))
    demographics: dict[str, tuple[str, str]] = {}
    for line in (directory / "u.user").read_text(encoding="latin-1").splitlines():
        if not line.strip():
            continue
        user, age, gender = line.split("|")[:3]
        demographics[user] = (gender.lower(), age_group_of_age(int(age)))
    return Dataset(directory.name, ratings, items, True, demographics)


# Field separators a generic file may use: the first that cuts its first line into 3 or 4 fields, in
# this order (MovieLens 1M/10M's `::`, tab, semicolon, comma, pipe). Tab and `::` files are read
# without CSV quoting (a quote is part of an id there); the others as CSV.
DELIMITERS = ("::", "\t", ";", ",", "|")


def _read_text(path: Path) -> str:
    """The file as text: UTF-8, else Latin-1 (older datasets are; every byte decodes)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _split_rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of every line that is not blank; lines end at a newline only."""
    if delimiter in ("::", "\t"):
        lines = (line.removesuffix("\r").split(delimiter) for line in text.split("\n"))
        rows = ((number, row) for number, row in enumerate(lines, start=1))
    else:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = ((reader.line_num, row) for row in reader)  # a quoted newline spans lines
    return ((number, row) for number, row in rows if row and "".join(row).strip())


def load_interactions(path: Path) -> Dataset:
    """A generic `user,item,weight[,timestamp]` file (formats: docs/quality.md): weight > 0 is a like."""
    # Rows with weight <= 0 are clicks only (like a MovieLens rating below 4); a repeated (user, item)
    # pair counts once, as its first row. Without a timestamp column, every row happens at BASE_TIME:
    # the events are simultaneous, so no method reads an order into them.
    text = _read_text(path)
    first = next((line for line in io.StringIO(text) if line.strip()), "").rstrip("\r\n")
    delimiter = next((d for d in DELIMITERS if len(first.split(d)) in (3, 4)), ",")
    expected = f"user{delimiter}item{delimiter}weight[{delimiter}timestamp]".replace("\t", " TAB ")
    rows = _split_rows(text, delimiter)
    header_number, header = next(rows, (1, []))
    if len(header) < 3:
        raise ValueError(f"{path}:{header_number}: expected rows {expected}")
    timestamps = len(header) >= 4
    # A first row whose weight (and time) are numbers is data; otherwise it is the header.
    data_first = _is_number(header[2]) and (not timestamps or _is_number(header[3]))
    ratings = []
    for number, row in itertools.chain([(header_number, header)] if data_first else [], rows):
        try:
            user, item, weight = row[0].strip(), row[1].strip(), float(row[2])
            at = dt.datetime.fromtimestamp(float(row[3]), dt.UTC) if timestamps else BASE_TIME
        except (IndexError, ValueError, OverflowError, OSError) as error:
            raise ValueError(f"{path}:{number}: expected {expected}: {error}") from None
        if not math.isfinite(weight):
            raise ValueError(f"{path}:{number}: the weight must be a finite number, got {row[2]!r}")
        if not user or not item or "\x00" in user + item:
            raise ValueError(f"{path}:{number}: a user and an item id are needed, without NUL characters")
        ratings.append(Rating(user, item, weight > 0, at))
    if not ratings:
        raise ValueError(f"{path}: no data rows after the header")
    if not any(rating.liked for rating in ratings):
        raise ValueError(f"{path}: no row has a weight above 0 (a like), so there is nothing to evaluate")
    ratings.sort(key=lambda rating: rating.at)  # stable: row order breaks ties
    seen: set[tuple[str, str]] = set()
    unique = []
    for rating in ratings:
        if (rating.user, rating.item) not in seen:
            seen.add((rating.user, rating.item))
            unique.append(rating)
    items = [Item(item, f"item {item}", None) for item in sorted({r.item for r in unique}, key=id_key)]
    return Dataset(path.stem, unique, items, timestamps)


def load_dataset(path: Path) -> Dataset:
    """A MovieLens 100K directory (it holds u.data) or a generic interactions file."""
    return load_movielens(path) if (path / "u.data").is_file() else load_interactions(path)


def split(dataset: Dataset) -> Split:
    """EVALUATION.md's split: temporal per user (last 20 % of likes), or seeded random without timestamps."""
    by_user: dict[str, list[Rating]] = defaultdict(list)
    for rating in dataset.ratings:
        by_user[rating.user].append(rating)
    rng = None
    if not dataset.timestamps:
        import numpy as np

        rng = np.random.default_rng(SEED)
    train: list[Rating] = []
    test: dict[str, list[str]] = {}
    for user in sorted(by_user, key=id_key):
        ratings = sorted(by_user[user], key=lambda rating: (rating.at, id_key(rating.item)))
        likes = [rating for rating in ratings if rating.liked]
        if not likes:
            train.extend(ratings)
            continue
        n_test = max(1, round_half_up_tenths(TEST_SHARE_TENTHS, len(likes)))
        if rng is None:
            held = likes[-n_test:]
            first = ratings.index(held[0])
            train.extend(ratings[:first])
        else:
            by_id = sorted(likes, key=lambda rating: id_key(rating.item))
            chosen = {by_id[int(index)].item for index in rng.choice(len(by_id), size=n_test, replace=False)}
            held = [rating for rating in by_id if rating.item in chosen]
            train.extend(rating for rating in ratings if rating.item not in chosen)
        test[user] = [rating.item for rating in held]
    return Split(train, test)


def score(recommended: Sequence[str], relevant: Iterable[str], k: int = K) -> UserScore:
    """P, R, binary-gain NDCG (IDCG over min(|test|, k)) and hit rate of the first k items."""
    wanted = set(relevant)
    top = list(recommended)[:k]
    gains = [1.0 if item in wanted else 0.0 for item in top]
    hits = int(sum(gains))
    dcg = sum(gain / math.log2(position + 2) for position, gain in enumerate(gains))
    idcg = sum(1.0 / math.log2(position + 2) for position in range(min(len(wanted), k)))
    return UserScore(
        hits=hits,
        precision=hits / k,
        recall=hits / len(wanted) if wanted else 0.0,
        ndcg=dcg / idcg if idcg else 0.0,
        hit=1.0 if hits else 0.0,
    )


def summarize(scores: Sequence[UserScore], lists: Sequence[Sequence[str]], catalogue: int) -> dict[str, Any]:
    """Means over users, the NDCG 95 % CI (1.96 sd / sqrt n) and catalogue coverage of the lists."""
    n = len(scores)
    if not n:
        return {"users": 0} | {key: None for key in ("ndcg10", "ndcg10_ci95", "p10", "r10", "hr10", "cov10")}
    ndcgs = [s.ndcg for s in scores]
    spread = statistics.stdev(ndcgs) if n > 1 else 0.0
    recommended = {item for items in lists for item in items[:K]}
    return {
        "users": n,
        "ndcg10": round(statistics.fmean(ndcgs), 4),
        "ndcg10_ci95": round(1.96 * spread / math.sqrt(n), 4),
        "p10": round(statistics.fmean(s.precision for s in scores), 4),
        "r10": round(statistics.fmean(s.recall for s in scores), 4),
        "hr10": round(statistics.fmean(s.hit for s in scores), 4),
        "cov10": round(len(recommended) / catalogue, 4) if catalogue else None,
    }


def user_uuid(user: str) -> uuid.UUID:
    """The MySanta user id of a dataset user."""
    return uuid.uuid5(NAMESPACE, f"user:{user}")


def present_uuid(item: str) -> uuid.UUID:
    """The present id of a dataset item."""
    return uuid.uuid5(NAMESPACE, f"item:{item}")


def synthetic_price(item: str) -> Decimal:
    """A deterministic price in 5.00 .. 199.99 from the item id, so price bands and filters have data."""
    digest = int(hashlib.md5(item.encode(), usedforsecurity=False).hexdigest()[:8], 16)
    return Decimal(500 + digest % 19_500) / 100


def load_train(main: psycopg.Connection, dataset: Dataset, train: Sequence[Rating]) -> None:
    """Write the catalogue as public presents, train ratings as clicks and train likes as likes, into main."""
    with main.cursor() as cursor:
        cursor.execute("TRUNCATE handpicked_present_clicks, handpicked_likes, handpicked_presents")
        copy_presents = (
            "COPY handpicked_presents (id, user_id, title, price, category, platform, geo_ids, available, "
            "created_at, updated_at) FROM STDIN"
        )
        with cursor.copy(copy_presents) as copy:
            for item in dataset.items:
                copy.write_row(
                    (
                        present_uuid(item.item),
                        None,
                        item.title,
                        synthetic_price(item.item),
                        item.category,
                        "dataset",
                        None,
                        True,
                        BASE_TIME,
                        BASE_TIME,
                    )
                )
        columns = "(id, user_id, handpicked_present_id, created_at)"
        for table, kind, ratings in (
            ("handpicked_present_clicks", "click", train),
            ("handpicked_likes", "like", [rating for rating in train if rating.liked]),
        ):
            with cursor.copy(f"COPY {table} {columns} FROM STDIN") as copy:
                for rating in ratings:
                    event_id = uuid.uuid5(NAMESPACE, f"{kind}:{rating.user}:{rating.item}")
                    copy.write_row((event_id, user_uuid(rating.user), present_uuid(rating.item), rating.at))
    main.commit()
    with main.cursor() as cursor:
        cursor.execute("ANALYZE handpicked_presents, handpicked_likes, handpicked_present_clicks")
    main.commit()


def sync_demographics(app: psycopg.Connection, dataset: Dataset) -> int:
    """Each user's gender and age group through api.upsert_user_demographics, as PUT /user-profile does."""
    rows = [
        (user_uuid(user), gender, group)
        for user, (gender, group) in sorted(dataset.demographics.items(), key=lambda pair: id_key(pair[0]))
    ]
    with app.cursor() as cursor:
        cursor.executemany("SELECT FROM api.upsert_user_demographics(%s, %s, %s, NULL, NULL, NULL)", rows)
    return len(rows)


@dataclass
class Scored:
    """Per-user lists and scores, kept for grouping."""

    users: list[str] = field(default_factory=list)
    lists: list[list[str]] = field(default_factory=list)
    scores: list[UserScore] = field(default_factory=list)

    def add(self, user: str, items: list[str], user_score: UserScore) -> None:
        """Record one user's result."""
        self.users.append(user)
        self.lists.append(items)
        self.scores.append(user_score)


@dataclass
class Served:
    """One scoring's per-user results: everyone, by the tier that served them, and the cold start."""

    overall: Scored
    tiers: dict[str, Scored]
    demographic: Scored
    global_: Scored


def score_users(
    app: psycopg.Connection, owner: psycopg.Connection, dataset: Dataset, data: Split
) -> tuple[dict[str, Any], Served]:
    """api.personalized for every evaluated user (by tier) and api.popular for the cold-start comparison
    (score_cold_start, as the owner); also the per-user scores behind the summaries (Served)."""
    item_of = {present_uuid(item.item): item.item for item in dataset.items}
    seen: dict[str, set[str]] = defaultdict(set)
    for rating in data.train:
        seen[rating.user].add(rating.item)
    overall, demographic, global_ = Scored(), Scored(), Scored()
    tiers: dict[str, Scored] = {tier: Scored() for tier in TIERS}
    seen_recommended = 0
    for user in sorted(data.test, key=id_key):
        relevant = data.test[user]
        # Exactly what POST /personalized calls for {user_id, pagination: {page: 1, limit: 10}}.
        row = app.execute(
            "SELECT items, algorithm_used "
            "FROM api.personalized(%s, NULL, NULL, NULL, NULL, NULL, 1, %s, NULL)",
            (user_uuid(user), K),
        ).fetchone()
        assert row is not None
        items = [item_of[present] for present in row[0]]
        seen_recommended += len(set(items) & seen[user])
        user_score = score(items, relevant)
        overall.add(user, items, user_score)
        tiers.setdefault(row[1], Scored()).add(user, items, user_score)
    catalogue = len(dataset.items)

    def cold(scored: Scored) -> dict[str, Any]:
        summary = summarize(scored.scores, scored.lists, catalogue)
        return {key: summary[key] for key in ("users", "ndcg10", "hr10")}

    score_cold_start(owner, dataset, data, item_of, demographic, global_)
    result = {
        "overall": summarize(overall.scores, overall.lists, catalogue),
        "tiers": {tier: summarize(s.scores, s.lists, catalogue) for tier, s in tiers.items()},
        "cold_start": {"demographic": cold(demographic), "global": cold(global_)},
        "cold_start_difference": paired_difference(demographic, global_),
        "seen_items_recommended": seen_recommended,
    }
    return result, Served(overall, tiers, demographic, global_)


def paired_difference(first: Scored, second: Scored) -> dict[str, Any]:
    """first minus second over the users both scored: the mean per-user difference of NDCG@10 and of
    HR@10, each with its 95 % CI (1.96 sd / sqrt n of the differences, paired by user)."""
    theirs = dict(zip(second.users, second.scores, strict=True))
    pairs = [
        (mine, theirs[user]) for user, mine in zip(first.users, first.scores, strict=True) if user in theirs
    ]
    result: dict[str, Any] = {"users": len(pairs)}
    for key, metric in (("ndcg10", "ndcg"), ("hr10", "hit")):
        differences = [getattr(a, metric) - getattr(b, metric) for a, b in pairs]
        spread = statistics.stdev(differences) if len(differences) > 1 else 0.0
        result[key] = round(statistics.fmean(differences), 4) if differences else None
        result[f"{key}_ci95"] = round(1.96 * spread / math.sqrt(len(differences)), 4) if differences else None
    return result


def rescored(users: Sequence[str], lists: dict[str, list[str]], data: Split) -> Scored:
    """Another method's lists for the same users, scored against the same test likes."""
    scored = Scored()
    for user in users:
        scored.add(user, lists[user], score(lists[user], data.test[user]))
    return scored


def score_cold_start(
    owner: psycopg.Connection,
    dataset: Dataset,
    data: Split,
    item_of: dict[uuid.UUID, str],
    demographic: Scored,
    global_: Scored,
) -> None:
    """EVALUATION.md's cold start: every user in turn with ALL their train data hidden, served by
    api.popular with their demographics and without. In one transaction per user, rolled back:
    recs.erase_users takes them out (their interactions and demographics, their share of the
    popularity logged as changes), the popularity job's own steps bring the rankings up to date
    without them (recs.popular_apply_changes, as the next run after an erasure does, then
    recs.popular_write_blended for the segments their requests read: rewriting all 20 took
    about a second a user), and api.popular ranks as for anyone new."""
    for user in sorted(data.test, key=id_key):
        relevant = data.test[user]
        gender, group = dataset.demographics.get(user, (None, None))
        with owner.transaction(force_rollback=True):
            owner.execute(
                "SELECT FROM recs.erase_users("
                "ARRAY(SELECT u.user_key FROM recs.users u WHERE u.user_id = %s), 'api')",
                (user_uuid(user),),
            )
            owner.execute(
                "SELECT recs.popular_apply_changes(d.decay_epoch, d.half_life_days,"
                " recs.setting('like_weight')::float8, recs.setting('popular_click_weight')::float8)"
                " FROM recs.sync_state d WHERE d.source = 'decay'"
            )
            if gender is not None or group is not None:
                owner.execute("SELECT recs.popular_write_blended(%s, %s)", (gender, group))
                demographic.add(user, *_popular(owner, item_of, relevant, gender, group))
            global_.add(user, *_popular(owner, item_of, relevant, None, None))


def _popular(
    app: psycopg.Connection,
    item_of: dict[uuid.UUID, str],
    relevant: list[str],
    gender: str | None,
    group: str | None,
) -> tuple[list[str], UserScore]:
    row = app.execute(
        "SELECT items FROM api.popular(%s, %s, NULL, NULL, NULL, NULL, NULL, NULL, 1, %s)", (gender, group, K)
    ).fetchone()
    assert row is not None
    items = [item_of[present] for present in row[0]]
    return items, score(items, relevant)


def evaluate_dataset(settings: Settings, main_admin_url: str, dataset: Dataset) -> dict[str, Any]:
    """Split, load train into the (empty, migrated) databases of settings, refresh, score every user, and
    score the reference baselines on the same split (overall and for the users of each tier, with
    each tier's paired difference from popularity)."""
    from tools.references import reference_lists, summarize_references

    data = split(dataset)
    with psycopg.connect(main_admin_url) as main:
        load_train(main, dataset, data.train)
    with (
        psycopg.connect(settings.recommendations_database_url, autocommit=True) as app,
        psycopg.connect(settings.recommendations_owner_database_url, autocommit=True) as owner,
    ):
        synced = sync_demographics(app, dataset)
        runs = run_jobs(settings)
        result, served = score_users(app, owner, dataset, data)
        result["limits"] = similarity_limits(owner)
    references = reference_lists(dataset, data)
    catalogue = len(dataset.items)
    result["references"] = summarize_references(references, data, sorted(data.test, key=id_key), catalogue)
    result["tier_references"] = {
        tier: summarize_references(references, data, scored.users, catalogue)
        for tier, scored in served.tiers.items()
    }
    popularity = references.lists.get("popularity", {})
    result["tier_minus_popularity"] = {
        tier: paired_difference(scored, rescored(scored.users, popularity, data))
        for tier, scored in served.tiers.items()
        if scored.users and popularity
    }
    result["references_skipped"] = references.skipped
    result["references_parameters"] = references.parameters
    result["references_seconds"] = references.seconds
    result["product_to_ease_ndcg10"] = ease_ratio(result)
    counts = {
        "users": len(data.test),
        "test_likes": sum(len(items) for items in data.test.values()),
        "train_rows": len(data.train),
        "train_likes": sum(rating.liked for rating in data.train),
        "catalogue": len(dataset.items),
        "demographics_synced": synced,
    }
    jobs = {logged.job: round(logged.duration_ms / 1000, 2) for logged in runs}
    return {"dataset": dataset.name, "split": counts} | result | {"refresh_seconds": jobs}


def similarity_limits(owner: psycopg.Connection) -> dict[str, Any]:
    """How much of this data the similarity job read, against how much there is (format_limits)."""
    row = owner.execute(
        """
        SELECT recs.item_history_cap(), recs.setting('item_neighbor_history_limit')::integer,
               (SELECT max(interactions) FROM recs.user_stats),
               recs.similarity_degree_cap(), recs.setting('similarity_item_degree_cap')::integer,
               (SELECT max(users) FROM recs.item_stats),
               CASE WHEN recs.setting('item_learned_neighbors')::integer > 0
                    THEN least(recs.setting('item_learned_presents')::bigint,
                               (SELECT count(*) FROM recs.item_neighbors)) END,
               (SELECT count(*) FROM recs.item_neighbors)
        """
    ).fetchone()
    assert row is not None
    return {
        "item_history_cap": row[0], "item_history_limit": row[1], "longest_history": row[2] or 0,
        "user_candidates_per_present": row[3], "user_candidates_fixed_cap": row[4],
        "most_users_of_a_present": row[5] or 0,
        "learned_presents": row[6] or 0, "presents_with_item_neighbors": row[7],
    }  # fmt: skip


def format_limits(limits: dict[str, Any]) -> list[str]:
    """A `budget:` line for each limit that cut this data, naming the setting that set it."""
    lines = []
    cap = limits["item_history_cap"]
    if cap < limits["longest_history"]:
        at_limit = cap == limits["item_history_limit"]
        setting = "item_neighbor_history_limit" if at_limit else "item_neighbor_pair_budget"
        lines.append(
            f"item neighbours read each user's {cap:,} most recent interactions"
            f" of up to {limits['longest_history']:,} ({setting})"
        )
    candidates = limits["user_candidates_per_present"]
    if candidates < limits["most_users_of_a_present"]:
        fixed = limits["user_candidates_fixed_cap"]
        setting = "similarity_item_degree_cap" if 0 < fixed == candidates else "similarity_candidate_budget"
        lines.append(
            f"the neighbour search meets {candidates:,} users of a present"
            f" of up to {limits['most_users_of_a_present']:,} ({setting})"
        )
    if 0 < limits["learned_presents"] < limits["presents_with_item_neighbors"]:
        lines.append(
            f"learned item weights for the {limits['learned_presents']:,} most taken of "
            f"{limits['presents_with_item_neighbors']:,} presents (item_learned_presents)"
        )
    return [f"budget: {line}" for line in lines]


def ease_ratio(report: dict[str, Any]) -> float | None:
    """The product's overall NDCG@10 over EASE's on the same split (None without EASE)."""
    product = report["overall"]["ndcg10"]
    ease = report["references"].get("ease", {}).get("ndcg10")
    return round(product / ease, 3) if product is not None and ease else None


def eval_settings(settings: Settings, main_db: str, recs_db: str) -> Settings:
    """The same roles and passwords as settings, pointing at the evaluation databases."""
    recs_app = parse_pg_url(settings.recommendations_database_url).with_dbname(recs_db)
    recs_owner = parse_pg_url(settings.recommendations_owner_database_url).with_dbname(recs_db)
    return msgspec.structs.replace(
        settings,
        main_database_url=parse_pg_url(settings.main_database_url).with_dbname(main_db),
        recommendations_database_url=recs_app,
        recommendations_owner_database_url=recs_owner,
    )


def recreate_databases(superuser_url: str, settings: Settings, main_db: str, recs_db: str) -> Settings:
    """Drop and recreate the evaluation databases with the real bootstrap and migrate (no cron schedules)."""
    in_use = {
        parse_pg_url(url).dbname
        for url in (settings.main_database_url, settings.recommendations_database_url)
    }
    if {main_db, recs_db} & in_use or main_db == recs_db:
        raise ValueError(f"the evaluation databases must differ from each other and from {sorted(in_use)}")
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        for dbname in (recs_db, main_db):
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
    target = eval_settings(settings, main_db, recs_db)
    bootstrap(superuser_url, target, dev_main=True)
    migrate(target, schedule=False)
    return target


def git_commit() -> str | None:
    """HEAD of the project repository, if it is one."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH, fixed arguments
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def number(value: float | None, digits: int = 3) -> str:
    """A metric with `digits` decimals (three by default), or - when there is none."""
    return "-" if value is None else f"{value:.{digits}f}"


def format_difference(label: str, difference: dict[str, Any]) -> str:
    """One paired_difference() as a line: the mean differences with their 95 % intervals."""
    return (
        f"{label}, paired over {difference['users']} users: "
        f"NDCG@10 {difference['ndcg10']:+.4f} ±{difference['ndcg10_ci95']:.4f}, "
        f"HR@10 {difference['hr10']:+.4f} ±{difference['hr10_ci95']:.4f} (95 %)"
    )


def format_table(report: dict[str, Any]) -> str:
    """The metrics as a fixed-width text table: the product, cold start, the references beside it, per
    tier the references' NDCG@10 / HR@10 on the users that tier served, and the paired differences
    (cold start demographic minus global, each tier minus popularity)."""
    counts = report["split"]
    lines = [
        f"dataset {report['dataset']}: {counts['users']:,} users, {counts['test_likes']:,} test likes, "
        f"{counts['train_rows']:,} train rows, {counts['catalogue']:,} items",
        f"{'group':<24}{'users':>7}{'NDCG@10':>9}{'±95%':>7}{'P@10':>7}{'R@10':>7}{'HR@10':>7}{'Cov@10':>8}",
    ]
    references = report.get("references", {})
    rows = [("overall", report["overall"])] + [(f"tier {t}", m) for t, m in report["tiers"].items()]
    rows += [(f"reference {name}", m) for name, m in references.items()]
    for name, m in rows:
        lines.append(
            f"{name:<24}{m['users']:>7}{number(m['ndcg10']):>9}{number(m['ndcg10_ci95']):>7}"
            f"{number(m['p10']):>7}{number(m['r10']):>7}{number(m['hr10']):>7}{number(m['cov10']):>8}"
        )
    for name, m in report["cold_start"].items():
        lines.append(
            f"{'cold start ' + name:<24}{m['users']:>7}{number(m['ndcg10']):>9}{'':>7}{'':>7}{'':>7}"
            f"{number(m['hr10']):>7}"
        )
    difference = report.get("cold_start_difference")
    if difference and difference["users"]:
        lines.append(format_difference("cold start demographic minus global", difference))
    for name, reason in report.get("references_skipped", {}).items():
        lines.append(f"reference {name} skipped: {reason}")
    for name, parameters in report.get("references_parameters", {}).items():
        chosen = ", ".join(f"{key} {value:g}" for key, value in parameters.items())
        lines.append(f"reference {name}: the best on this split of its grid at {chosen}")
    if "product_to_ease_ndcg10" in report:
        lines.append(f"product / EASE NDCG@10: {number(report['product_to_ease_ndcg10'])}")
    lines += format_limits(report["limits"]) if "limits" in report else []
    served = {
        tier: by_method
        for tier, by_method in report.get("tier_references", {}).items()
        if report["tiers"][tier]["users"]
    }
    if served:
        lines.append("NDCG@10 / HR@10 on the users each tier served:")
        header = f"{'tier':<16}{'users':>7}{'product':>15}"
        lines.append(header + "".join(f"{name:>15}" for name in references))
        for tier, by_method in served.items():
            cells = [report["tiers"][tier]] + [by_method[name] for name in references]
            lines.append(
                f"{tier:<16}{report['tiers'][tier]['users']:>7}"
                + "".join(f"{number(m['ndcg10']) + ' / ' + number(m['hr10']):>15}" for m in cells)
            )
    for tier, difference in report.get("tier_minus_popularity", {}).items():
        lines.append(format_difference(f"tier {tier} minus popularity", difference))
    lines.append(f"{report['seconds']:.1f} s; commit {report['commit']}")
    return "\n".join(lines)


def validation_dataset(dataset: Dataset) -> Dataset:
    """The train split of dataset, to be split again: tuning looks at this, never at the test split."""
    return replace(dataset, name=f"{dataset.name}-validation", ratings=split(dataset).train)


def apply_overrides(settings: Settings, overrides: dict[str, str]) -> None:
    """Set recs.settings knobs through recs.set_setting (as a DBA would) before the first refresh; an
    unknown key or a value out of its range is a ValueError naming it."""
    with psycopg.connect(settings.recommendations_owner_database_url, autocommit=True) as owner:
        for key, value in overrides.items():
            try:
                owner.execute("SELECT FROM recs.set_setting(%s, %s)", (key, value))
            except psycopg.errors.InvalidParameterValue as error:
                raise ValueError(error.diag.message_primary) from None


def run_evaluation(
    superuser_url: str,
    settings: Settings,
    dataset_path: Path,
    main_db: str = "mysanta_eval_main",
    recs_db: str = "mysanta_eval_recs",
    results_dir: Path = RESULTS_DIR,
    overrides: dict[str, str] | None = None,
    validation: bool = False,
) -> tuple[dict[str, Any], Path]:
    """The whole `make eval`: fresh databases, evaluation, JSON report; returns the report and its path."""
    started = time.perf_counter()
    dataset = load_dataset(dataset_path)
    if validation:
        dataset = validation_dataset(dataset)
    target = recreate_databases(superuser_url, settings, main_db, recs_db)
    apply_overrides(target, overrides or {})
    report = evaluate_dataset(target, parse_pg_url(superuser_url).with_dbname(main_db), dataset)
    report["settings_overridden"] = overrides or {}
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["commit"] = git_commit()
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"quality-{dataset.name}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    log.info("evaluate.done", extra={"dataset": dataset.name, "seconds": report["seconds"]})
    return report, path
