"""Reference baselines in numpy on the evaluator's own split: popularity, user-kNN, RP3beta and EASE."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from tools.evaluate import Dataset, K, Split, id_key, rescored, summarize

NEIGHBOURS = (20, 50)  # user-kNN: the K most similar users vote
EASE_LAMBDA = 200.0
EASE_LIKE_WEIGHT = 1.0
EASE_CLICK_WEIGHT = 0.3  # a train row that is a click without a like
EASE_MAX_ITEMS = 20_000  # a dense item x item inverse: 20k items take ~10 GB and minutes
# RP3beta's (alpha, beta): the best of these on the split is its reference, so it is the strongest
# of them on the very users it is compared on (as user-kNN is given two K).
RP3BETA_GRID = ((0.8, 0.0), (0.8, 0.2), (0.8, 0.4), (1.0, 0.0), (1.0, 0.2), (1.0, 0.4))
RP3BETA_MAX_ITEMS = EASE_MAX_ITEMS  # a dense item x item matrix
USER_KNN = tuple(f"user_knn_{neighbours}" for neighbours in NEIGHBOURS)
METHODS = ("popularity", *USER_KNN, "rp3beta", "ease")
LABELS = dict(
    zip(METHODS, ("popularity", *(f"user-kNN {k}" for k in NEIGHBOURS), "RP3beta", "EASE"), strict=True)
)

Floats = npt.NDArray[np.float64]
Indices = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Rows:
    """A sparse 0/1-or-weighted matrix by rows: row r holds columns[starts[r]:starts[r + 1]]."""

    starts: Indices
    columns: Indices
    values: Floats

    def columns_of(self, row: int) -> Indices:
        """The columns set in one row."""
        return self.columns[self.starts[row] : self.starts[row + 1]]

    def values_of(self, row: int) -> Floats:
        """The values of one row, in the order of columns_of."""
        return self.values[self.starts[row] : self.starts[row + 1]]

    def size(self, row: int) -> int:
        """How many columns one row holds."""
        return int(self.starts[row + 1] - self.starts[row])


def rows_of(pairs: Iterable[tuple[int, int, float]], count: int) -> Rows:
    """Rows from (row, column, value) triples, columns ascending within a row."""
    array = np.array(list(pairs), dtype=np.float64).reshape(-1, 3)
    row, column = array[:, 0].astype(np.intp), array[:, 1].astype(np.intp)
    order = np.lexsort((column, row))
    starts = np.zeros(count + 1, dtype=np.intp)
    np.cumsum(np.bincount(row, minlength=count), out=starts[1:])
    return Rows(starts, column[order], array[order, 2])


@dataclass(frozen=True)
class TrainMatrix:
    """The train split as index arrays: users in id order, items in catalogue order."""

    users: list[str]
    items: list[str]
    seen: Rows  # every train row, valued like 1 / click only 0.3 (EASE's X)
    likes: Rows  # train likes only, valued 1
    likers: Rows  # the transpose of likes: per item, the users who liked it


def train_matrix(dataset: Dataset, data: Split) -> TrainMatrix:
    """Index the train split: a user is a row, a catalogue item a column."""
    users = sorted({rating.user for rating in data.train} | set(data.test), key=id_key)
    items = [item.item for item in dataset.items]
    user_index = {user: index for index, user in enumerate(users)}
    item_index = {item: index for index, item in enumerate(items)}
    seen = [
        (user_index[r.user], item_index[r.item], EASE_LIKE_WEIGHT if r.liked else EASE_CLICK_WEIGHT)
        for r in data.train
    ]
    likes = [(user, item, 1.0) for user, item, weight in seen if weight == EASE_LIKE_WEIGHT]
    return TrainMatrix(
        users=users,
        items=items,
        seen=rows_of(seen, len(users)),
        likes=rows_of(likes, len(users)),
        likers=rows_of(((item, user, 1.0) for user, item, _ in likes), len(items)),
    )


def top_items(scores: Floats, seen: Indices, k: int = K) -> list[int]:
    """The k best-scored columns among those scored above 0, seen ones excluded; ties by column order."""
    scores = scores.copy()
    scores[seen] = 0.0
    candidates = np.flatnonzero(scores > 0)
    order = np.argsort(-scores[candidates], kind="stable")[:k]
    return [int(column) for column in candidates[order]]


def popularity_lists(matrix: TrainMatrix, users: Sequence[int]) -> dict[int, list[int]]:
    """Global popularity: items by their number of train likes."""
    counts = np.bincount(matrix.likes.columns, minlength=len(matrix.items)).astype(np.float64)
    return {user: top_items(counts, matrix.seen.columns_of(user)) for user in users}


def user_knn_lists(matrix: TrainMatrix, users: Sequence[int], neighbours: int) -> dict[int, list[int]]:
    """User-kNN: cosine on binary likes; an item scores the summed similarity of the top
    `neighbours` users who liked it (ties among neighbours go to the lower user id)."""
    likes, likers = matrix.likes, matrix.likers
    norms = np.sqrt(np.diff(likes.starts)).astype(np.float64)
    lists: dict[int, list[int]] = {}
    for user in users:
        liked = likes.columns_of(user)
        if not liked.size:
            lists[user] = []
            continue
        co_likers = np.concatenate([likers.columns_of(int(item)) for item in liked])
        overlap = np.bincount(co_likers, minlength=len(matrix.users)).astype(np.float64)
        overlap[user] = 0.0
        candidates = np.flatnonzero(overlap)
        similarity = overlap[candidates] / (norms[candidates] * norms[user])
        order = np.argsort(-similarity, kind="stable")[:neighbours]
        nearest, weights = candidates[order], similarity[order]
        if not nearest.size:
            lists[user] = []
            continue
        voted = np.concatenate([likes.columns_of(int(n)) for n in nearest])
        votes = np.repeat(weights, [likes.size(int(n)) for n in nearest])
        scores = np.asarray(np.bincount(voted, weights=votes, minlength=len(matrix.items)), dtype=np.float64)
        lists[user] = top_items(scores, matrix.seen.columns_of(user))
    return lists


def user_gram(matrix: TrainMatrix, power: float = 1.0, degree_power: float = 0.0) -> Floats:
    """G[i, j] = sum over users u of x_ui^power x_uj^power / d_u^degree_power, with X as EASE's and d_u a
    user's row sum: X'X at the defaults."""
    seen, count = matrix.seen, len(matrix.items)
    gram = np.zeros((count, count))
    chunk = 1024  # users at a time, each chunk dense over the columns it touches only
    for first in range(0, len(matrix.users), chunk):
        rows = range(first, min(first + chunk, len(matrix.users)))
        columns = np.unique(np.concatenate([seen.columns_of(row) for row in rows]))
        if not columns.size:
            continue
        dense = np.zeros((len(rows), columns.size))
        for position, row in enumerate(rows):
            dense[position, np.searchsorted(columns, seen.columns_of(row))] = seen.values_of(row) ** power
        weighted = dense
        if degree_power:
            degrees = np.array([seen.values_of(row).sum() for row in rows])
            weighted = dense / np.where(degrees > 0, degrees, 1.0)[:, None] ** degree_power
        gram[np.ix_(columns, columns)] += dense.T @ weighted
    return gram


def rp3beta_gram(matrix: TrainMatrix, alpha: float) -> tuple[Floats, Floats]:
    """RP3beta's two-step walk before its item terms: G[i, j] = sum over users u of x_ui^alpha x_uj^alpha /
    d_u^alpha (X as EASE's, d_u a user's row sum), and each item's degree d_i (its column sum)."""
    item_degrees = np.zeros(len(matrix.items))
    np.add.at(item_degrees, matrix.seen.columns, matrix.seen.values)
    return user_gram(matrix, alpha, alpha), item_degrees


def rp3beta_lists(
    matrix: TrainMatrix, users: Sequence[int], gram: Floats, item_degrees: Floats, alpha: float, beta: float
) -> dict[int, list[int]]:
    """RP3beta (Paudel et al. 2016): W[i, j] = P(i -> u)^alpha P(u -> j)^alpha summed over users, that is
    G[i, j] / d_i^alpha, divided by the target's popularity d_j^beta; no self-loops; a user's scores
    are their weighted train row times W."""
    degrees = np.where(item_degrees > 0, item_degrees, 1.0)
    weights = gram / degrees[:, None] ** alpha / degrees[None, :] ** beta
    weights[np.diag_indices(len(matrix.items))] = 0.0
    seen = matrix.seen
    return {
        user: top_items(seen.values_of(user) @ weights[seen.columns_of(user)], seen.columns_of(user))
        for user in users
    }


def best_rp3beta_lists(
    matrix: TrainMatrix, users: Sequence[int], data: Split
) -> tuple[dict[int, list[int]], dict[str, float]]:
    """RP3beta at each (alpha, beta) of RP3BETA_GRID; the lists and parameters of the best NDCG@10 over
    the evaluated users (the first of equals)."""
    evaluated = [matrix.users[user] for user in users]
    best: tuple[float, dict[int, list[int]], dict[str, float]] | None = None
    for alpha in sorted({alpha for alpha, _ in RP3BETA_GRID}):
        gram, item_degrees = rp3beta_gram(matrix, alpha)
        for beta in [beta for grid_alpha, beta in RP3BETA_GRID if grid_alpha == alpha]:
            lists = rp3beta_lists(matrix, users, gram, item_degrees, alpha, beta)
            named = {matrix.users[user]: [matrix.items[item] for item in got] for user, got in lists.items()}
            scored = rescored(evaluated, named, data)
            ndcg = float(summarize(scored.scores, scored.lists, len(matrix.items))["ndcg10"])
            if best is None or ndcg > best[0]:
                best = (ndcg, lists, {"alpha": alpha, "beta": beta})
        del gram
    assert best is not None
    return best[1], best[2]


def ease_weights(matrix: TrainMatrix) -> Floats:
    """EASE (Steck 2019): B = I - P diag(1/diag P), diag(B) = 0, with P = (X'X + lambda I)^-1."""
    count = len(matrix.items)
    gram = user_gram(matrix)
    gram[np.diag_indices(count)] += EASE_LAMBDA
    weights = np.asarray(np.linalg.inv(gram), dtype=np.float64)
    del gram
    weights /= -np.diag(weights)  # column j divided by -P[j, j]
    weights[np.diag_indices(count)] = 0.0
    return weights


def ease_lists(matrix: TrainMatrix, users: Sequence[int]) -> dict[int, list[int]]:
    """EASE: a user's scores are their weighted train row times B."""
    weights = ease_weights(matrix)
    seen = matrix.seen
    return {
        user: top_items(seen.values_of(user) @ weights[seen.columns_of(user)], seen.columns_of(user))
        for user in users
    }


@dataclass
class References:
    """Each method's top-K list per evaluated user, and the methods left out with the reason."""

    lists: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, dict[str, float]] = field(default_factory=dict)  # a method's chosen settings
    seconds: float = 0.0


def reference_lists(dataset: Dataset, data: Split) -> References:
    """Every reference method's lists for the evaluated users of the split."""
    started = time.perf_counter()
    matrix = train_matrix(dataset, data)
    index = {user: position for position, user in enumerate(matrix.users)}
    users = [index[user] for user in sorted(data.test, key=id_key)]
    found: dict[str, dict[int, list[int]]] = {"popularity": popularity_lists(matrix, users)}
    for name, neighbours in zip(USER_KNN, NEIGHBOURS, strict=True):
        found[name] = user_knn_lists(matrix, users, neighbours)
    references = References()
    if len(matrix.items) <= RP3BETA_MAX_ITEMS:
        found["rp3beta"], references.parameters["rp3beta"] = best_rp3beta_lists(matrix, users, data)
    else:
        references.skipped["rp3beta"] = f"catalogue of {len(matrix.items):,} items > {RP3BETA_MAX_ITEMS:,}"
    if len(matrix.items) <= EASE_MAX_ITEMS:
        found["ease"] = ease_lists(matrix, users)
    else:
        references.skipped["ease"] = f"catalogue of {len(matrix.items):,} items > {EASE_MAX_ITEMS:,}"
    references.lists = {
        name: {matrix.users[user]: [matrix.items[item] for item in items] for user, items in by_user.items()}
        for name, by_user in found.items()
    }
    references.seconds = round(time.perf_counter() - started, 1)
    return references


def summarize_references(
    references: References, data: Split, users: Sequence[str], catalogue: int
) -> dict[str, dict[str, Any]]:
    """summarize() of each reference method over the given evaluated users."""
    summaries = {}
    for name, lists in references.lists.items():
        scored = rescored(users, lists, data)
        summaries[name] = summarize(scored.scores, scored.lists, catalogue)
    return summaries
