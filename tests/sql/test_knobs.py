"""recs.settings: every knob has a type and range checked on write, and any accepted value serves."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import psycopg
import pytest

from tests.conftest import app_connect, owner_connect
from tests.data import NOW, World


def fill(world: World) -> dict[str, uuid.UUID]:
    """Presents in two categories, users of every tier (with demographics), likes and clicks."""
    presents = [
        world.present(price=5 + 7 * n, category=("books", "toys")[n % 2], geo_ids=[1] if n % 5 == 0 else None)
        for n in range(16)
    ]
    fans = world.users(12, "f", "25-34")
    for index, fan in enumerate(fans):
        for offset in range(2 + index % 5):
            world.like(fan, presents[(index * 3 + offset * 5) % len(presents)])
        world.click(fan, presents[index % len(presents)], times=1 + index % 3)
    for present in presents[
        :14
    ]:  # a long history: its oldest votes are far below 2^-1000 at short half-lives
        world.click(fans[0], present)
    (newcomer,) = world.users(1, "m", "18-24")
    (browser,) = world.users(1, "f", "25-34")
    world.click(browser, presents[3])
    return {"collaborative": fans[-1], "content_based": browser, "popular": newcomer}


def serves(users: dict[str, uuid.UUID]) -> None:
    """Every job runs and every kind of request answers (a page with items) under the current knobs."""
    with owner_connect() as owner:
        owner.execute("CALL recs.refresh_all()")
    with app_connect() as app:
        for args in ((None, None, None, None), ("f", "25-34", 10, "books"), ("m", "55+", None, None)):
            gender, group, price_to, category = args
            row = app.execute(
                "SELECT items FROM api.popular(%s, %s, NULL, 1, NULL, %s, %s, NULL, 1, 5)",
                (gender, group, price_to, category),
            ).fetchone()
            assert row is not None
        for user in users.values():
            row = app.execute(
                "SELECT items, algorithm_used"
                " FROM api.personalized(%s, NULL, NULL, NULL, NULL, NULL, 1, 5, NULL)",
                (user,),
            ).fetchone()
            assert row is not None and len(row[0]) == 5, row


def set_setting(key: str, value: str) -> None:
    with owner_connect() as owner:
        owner.execute("SELECT FROM recs.set_setting(%s, %s)", (key, value))


def bounds(value_type: str, low: Decimal | None, high: Decimal | None) -> list[str]:
    if value_type == "boolean":
        return ["true", "false"]
    assert low is not None and high is not None
    return [format(low.normalize(), "f"), format(high.normalize(), "f")]


def test_every_setting_at_each_bound_still_serves(world: World) -> None:
    users = fill(world)
    knobs = world.recs.execute(
        "SELECT key, value, value_type, min_value, max_value FROM recs.settings ORDER BY key"
    ).fetchall()
    assert len(knobs) >= 21 and all(value_type for _, _, value_type, _, _ in knobs)
    for key, default, value_type, low, high in knobs:
        for value in bounds(value_type, low, high):
            set_setting(key, value)
            serves(users)
        set_setting(key, default)
    # Together: the shortest half-lives with the longest histories and pools, then every minimum.
    for key, value in (("neighbor_history_half_life", "0.01"), ("popularity_half_life_days", "0.01"),
                       ("neighbor_history_limit", "1000"), ("neighbor_pool_size", "500")):  # fmt: skip
        set_setting(key, value)
    serves(users)
    for key, _, value_type, low, high in knobs:
        set_setting(key, bounds(value_type, low, high)[0])
    serves(users)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("max_similar_users", "abc", "setting max_similar_users must be an integer from 1 to 500, got 'abc'"),
        ("max_similar_users", "0", "must be an integer from 1 to 500, got '0'"),
        ("max_similar_users", "2.5", "must be an integer from 1 to 500"),
        (
            "neighbor_history_limit",
            "5000",
            "setting neighbor_history_limit must be an integer from 1 to 1000",
        ),
        ("click_weight", "-0.1", "setting click_weight must be a number from 0 to 1000, got '-0.1'"),
        ("popularity_half_life_days", "0", "must be a number from 0.01 to 1000000"),
        ("similarity_iuf", "yes", "setting similarity_iuf must be true or false, got 'yes'"),
        ("similarity_iuf", None, "got NULL"),
        (
            "no_such_key",
            "1",
            "unknown setting no_such_key; the settings are: absent_user_retention_days, click_weight, ",
        ),
    ],
)
def test_a_bad_value_or_key_is_refused_naming_the_key_and_range(
    databases: tuple[psycopg.Connection, ...], key: str, value: str | None, message: str
) -> None:
    _, recs = databases
    before = recs.execute("SELECT key, value FROM recs.settings ORDER BY key").fetchall()
    with owner_connect() as owner, pytest.raises(psycopg.errors.InvalidParameterValue) as error:
        owner.execute("SELECT FROM recs.set_setting(%s, %s)", (key, value))
    assert message in str(error.value)
    with owner_connect() as owner, pytest.raises(psycopg.errors.InvalidParameterValue):  # a plain UPDATE too
        owner.execute("UPDATE recs.settings SET value = 'abc' WHERE key = 'max_similar_users'")
    assert recs.execute("SELECT key, value FROM recs.settings ORDER BY key").fetchall() == before


def test_set_setting_returns_the_stored_row(databases: tuple[psycopg.Connection, ...]) -> None:
    with owner_connect() as owner:
        row = owner.execute("SELECT * FROM recs.set_setting('min_segment_users', '7')").fetchone()
    assert row == ("min_segment_users", "7", "integer", Decimal(0), Decimal(100000000))


def test_the_shortest_half_life_survives_a_rebase_over_old_clicks(world: World) -> None:
    set_setting("popularity_half_life_days", "0.01")  # 14.4 minutes
    present, (user,) = world.present(), world.users(1, "f", "25-34")
    world.click(user, present, at=NOW - dt.timedelta(days=14))  # 900 half-lives before the epoch
    world.click(user, world.present(), at=NOW - dt.timedelta(days=5))  # the newest: the epoch's day
    world.refresh()
    world.click(user, present, at=NOW)  # 500 half-lives on: the stored sums are rebased
    world.refresh()  # the old click's 2^-900 x 2^-500 would underflow: it counts 0
    decays = world.recs.execute(
        "SELECT x.clicks, x.click_decay > 0 FROM recs.interactions x JOIN recs.items i USING (item_id)"
        " WHERE i.present_id = %s",
        (present,),
    ).fetchall()
    assert decays == [(2, True)]  # the new click's weight, the old one's gone to 0
