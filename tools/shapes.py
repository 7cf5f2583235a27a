"""Synthetic interactions files shaped like public datasets the suite does not hold (make eval DATASET=)."""

# Users and presents get latent tastes (16 factors); a user takes presents in proportion to
# popularity (a power law) times taste, so collaborative methods have something to find (user-kNN
# 50 beats popularity 2.6-2.7x on these files, 1.9x on MovieLens 100K). Fixed seeds: the same files
# every time.
# - ml1m: MovieLens 1M's shape: 6,040 users, 3,706 presents, about 1M ratings (at least 20 per
#   user, heavy-tailed to about 2,300), weight = rating - 3.5 (ratings 1-5 in MovieLens' shares, so
#   57 % are likes), unix times over MovieLens 1M's years. The times carry no order: a user's
#   ratings are stamped in a random order, as a batch import might, which the ranking's recency
#   fading cannot tell from a real history.
# - lastfm: Last.fm hetrec-2k's shape: 1,892 users with 50 artists each out of about 15,000,
#   weight = a play count (every row a like), no times, rows listed by plays as that file does.

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

SEED = 20240601
FACTORS = 16
# How much taste weighs against log-popularity in what a user takes (and rates well).
TASTE_ML1M = 6.0
TASTE_LASTFM = 10.0
SHAPES = ("ml1m", "lastfm")


def _sample_without_replacement(
    rng: np.random.Generator, log_weights: np.ndarray, counts: np.ndarray
) -> list[np.ndarray]:
    """Per row, counts[row] distinct columns drawn with probability in proportion to exp(log_weights)."""
    import numpy as np  # here, not at the top: the tools' command line reads SHAPES without numpy

    keys = log_weights + rng.gumbel(size=log_weights.shape)
    return [np.argpartition(-keys[row], count - 1)[:count] for row, count in enumerate(counts)]


def write_ml1m(directory: Path) -> Path:
    """ml1m-shape.csv: `user,item,weight,timestamp`, about 1M rows."""
    import numpy as np

    rng = np.random.default_rng(SEED + 1)
    n_users, n_items, target_rows = 6040, 3706, 1_000_209
    users_taste = rng.normal(size=(n_users, FACTORS)) / np.sqrt(FACTORS)
    items_taste = rng.normal(size=(n_items, FACTORS)) / np.sqrt(FACTORS)
    item_bias = rng.normal(scale=0.5, size=n_items)
    log_popularity = -0.9 * np.log(rng.permutation(n_items) + 1)
    activity = rng.lognormal(mean=0.0, sigma=1.0, size=n_users)
    counts = np.minimum(np.maximum(20, activity / activity.sum() * target_rows).astype(int), 2300)
    counts = np.maximum(20, (counts * target_rows / counts.sum()).astype(int))
    first_time, last_time = 956_703_932, 1_046_454_590  # MovieLens 1M's years
    path = directory / "ml1m-shape.csv"
    with path.open("w") as out:
        out.write("user,item,weight,timestamp\n")
        for low in range(0, n_users, 500):
            high = min(low + 500, n_users)
            taste = users_taste[low:high] @ items_taste.T * TASTE_ML1M + item_bias
            picks = _sample_without_replacement(rng, log_popularity + taste, counts[low:high])
            for row, taken in enumerate(picks):
                noisy = taste[row, taken] + rng.normal(scale=0.8, size=taken.size)
                # Ratings 1-5 in MovieLens' shares: 6, 11, 26, 35, 22 %.
                ratings = 1 + np.searchsorted(np.quantile(noisy, [0.06, 0.17, 0.43, 0.78]), noisy)
                begin = rng.integers(first_time, last_time - 86400 * 30)
                span = int(rng.exponential(86400 * 60)) + 3600
                times = np.minimum(np.sort(begin + rng.integers(0, span, size=taken.size)), last_time)
                order = rng.permutation(taken.size)  # the times say nothing of the order taken
                for item, rating, at in zip(taken[order], ratings[order], times, strict=True):
                    out.write(f"{low + row + 1},{item + 1},{rating - 3.5},{at}\n")
    return path


def write_lastfm(directory: Path) -> Path:
    """lastfm-shape.tsv: `userID<TAB>artistID<TAB>weight`, 1,892 users x 50 artists."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    n_users, n_items, per_user = 1892, 17632, 50
    users_taste = rng.normal(size=(n_users, FACTORS)) / np.sqrt(FACTORS)
    items_taste = rng.normal(size=(n_items, FACTORS)) / np.sqrt(FACTORS)
    log_popularity = -0.75 * np.log(rng.permutation(n_items) + 1)
    taste = users_taste @ items_taste.T * TASTE_LASTFM
    mean, deviation = taste.mean(), taste.std()
    picks = _sample_without_replacement(rng, log_popularity + taste, np.full(n_users, per_user))
    path = directory / "lastfm-shape.tsv"
    with path.open("w") as out:
        out.write("userID\tartistID\tweight\n")
        for user, taken in enumerate(picks):
            plays = rng.lognormal(mean=5.0 + 0.8 * (taste[user, taken] - mean) / deviation, sigma=1.2)
            plays = np.maximum(1, np.round(plays)).astype(int)
            order = np.argsort(-plays, kind="stable")  # a user's artists by plays, as Last.fm lists them
            for item, count in zip(taken[order], plays[order], strict=True):
                out.write(f"{user + 2}\t{item + 1}\t{count}\n")
    return path


def write_shapes(directory: Path, shapes: tuple[str, ...] = SHAPES) -> list[Path]:
    """Write the files of these shapes into directory (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    writers = {"ml1m": write_ml1m, "lastfm": write_lastfm}
    return [writers[shape](directory) for shape in shapes]
