"""max_per_category: recs.spread_by_category caps each page, keeps rank order within the cap, fills
pages when categories run short, and gives the same pages whatever the ranking's depth; the api.*
functions apply it before paginating."""

from __future__ import annotations

import random
import uuid
from collections import Counter

import psycopg
import pytest

from tests.conftest import app_connect
from tests.data import World


def item_ids(world: World, presents: list[uuid.UUID]) -> list[int]:
    rows = world.recs.execute(
        "SELECT i.item_id FROM unnest(%s::uuid[]) WITH ORDINALITY p(id, n)"
        " JOIN recs.items i ON i.present_id = p.id ORDER BY p.n",
        (presents,),
    ).fetchall()
    return [row[0] for row in rows]


def spread(world: World, items: list[int], limit: int, cap: int) -> list[int]:
    """The ranking as recs.spread_by_category orders it (its reach: two pages past a page's end)."""
    row = world.recs.execute(
        "SELECT recs.permute(%s::integer[], recs.spread_by_category(%s::integer[], %s, %s))",
        (items, items, limit, cap),
    ).fetchone()
    assert row is not None
    return list(row[0])


def test_each_page_holds_at_most_the_cap_best_first(world: World) -> None:
    # Ranked: five books, then two toys, then one present without a category.
    presents = [world.present(category="books") for _ in range(5)] + [
        world.present(category="toys") for _ in range(2)
    ]
    presents.append(world.present(category=None))  # type: ignore[arg-type]
    world.refresh_all()
    b1, b2, b3, b4, b5, t1, t2, n1 = item_ids(world, presents)
    pages = spread(world, [b1, b2, b3, b4, b5, t1, t2, n1], limit=3, cap=1)
    assert pages[:3] == [b1, t1, n1]  # one per category, best first
    assert pages[3:6] == [b2, t2, b3]  # toys and books again; only two categories left: filled
    assert pages[6:] == [b4, b5]
    assert sorted(pages) == sorted([b1, b2, b3, b4, b5, t1, t2, n1])


def test_pages_do_not_depend_on_how_deep_the_ranking_goes(world: World) -> None:
    rng = random.Random(5)  # noqa: S311 - test data, not security
    presents = [world.present(category=rng.choice(["books", "toys", "games", "home"])) for _ in range(60)]
    world.refresh_all()
    ranking = item_ids(world, presents)
    limit, lookahead = 5, 10  # the reach recs.spread_lookahead gives a page of 5
    full = spread(world, ranking, limit, 2)
    categories = dict(world.recs.execute("SELECT item_id, category FROM recs.items").fetchall())
    for page in range(1, 9):
        depth = page * limit + lookahead
        shallow = spread(world, ranking[:depth], limit, 2)
        assert shallow[: page * limit] == full[: page * limit], page
        counts = Counter(categories[item] for item in full[(page - 1) * limit : page * limit])
        assert max(counts.values()) <= 2 or len(counts) < 3, (page, counts)


def test_api_popular_spreads_before_paginating(world: World) -> None:
    books = [world.present(category="books") for _ in range(6)]
    toys = [world.present(category="toys") for _ in range(3)]
    for rank, present in enumerate(books + toys):  # books the most liked
        for fan in world.users(12 - rank):
            world.like(fan, present)
    world.refresh_all()

    def page(number: int, cap: int | None) -> list[uuid.UUID]:
        with app_connect() as app:
            row = app.execute(
                "SELECT items FROM api.popular(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, %s, 3,"
                " p_max_per_category => %s)",
                (number, cap),
            ).fetchone()
        assert row is not None
        return [uuid.UUID(str(present)) for present in row[0]]

    assert page(1, None) == books[:3]
    first, second = page(1, 2), page(2, 2)
    assert first == [books[0], books[1], toys[0]] and second == [books[2], books[3], toys[1]]
    assert page(3, 2) == [books[4], books[5], toys[2]]
    with app_connect() as app, pytest.raises(psycopg.errors.InvalidParameterValue, match="max_per_category"):
        app.execute(
            "SELECT * FROM api.popular(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1, 3,"
            " p_max_per_category => 0)"
        )
