"""Domain values live in SQL (sql/00_domain); the API's enums and normalisation in Python agree with them."""

from __future__ import annotations

import datetime as dt
from typing import get_args

import psycopg
import pytest

from service.models import AGE_GROUPS, GenderText, Tier, age_group_of_age, normalize_gender


def test_age_groups_and_their_bounds_match_sql(databases: tuple[psycopg.Connection, ...]) -> None:
    _, recs = databases
    groups = recs.execute("SELECT age_group FROM recs.age_groups()").fetchall()
    assert tuple(group for (group,) in groups) == AGE_GROUPS
    today = dt.date(2026, 6, 15)
    for years in range(0, 131):
        born = today.replace(year=today.year - years)
        row = recs.execute("SELECT recs.age_group_of(%s, %s)", (born, today)).fetchone()
        assert row == (age_group_of_age(years),), years
    # A day short of a birthday is still the younger age.
    row = recs.execute("SELECT recs.age_group_of(%s, %s)", (dt.date(2008, 6, 16), today)).fetchone()
    assert row == ("under-18",)
    assert recs.execute("SELECT recs.age_group_of(NULL)").fetchone() == (None,)


def test_demographics_without_an_age_store_no_age_group(databases: tuple[psycopg.Connection, ...]) -> None:
    _, recs = databases
    stored = recs.execute(
        "SELECT gender, age_group"
        " FROM api.upsert_user_demographics(gen_random_uuid(), 'Male', NULL, NULL, 'en', 3)"
    ).fetchone()
    assert stored == ("m", None)


@pytest.mark.parametrize("value", [*get_args(GenderText), None])
def test_gender_normalisation_matches_sql(
    databases: tuple[psycopg.Connection, ...], value: str | None
) -> None:
    _, recs = databases
    assert recs.execute("SELECT recs.gender_of(%s, 'gender')", (value,)).fetchone() == (
        normalize_gender(value),
    )


def test_the_api_takes_fewer_gender_spellings_than_sql(databases: tuple[psycopg.Connection, ...]) -> None:
    _, recs = databases
    # The OpenAPI enum lists the spellings the API takes; psql callers may also pad or mix case.
    assert recs.execute("SELECT recs.gender_of(' mAlE ', 'gender')").fetchone() == ("m",)
    with pytest.raises(ValueError, match="gender must be m, f, male or female"):
        normalize_gender(" mAlE ")


def test_invalid_values_name_their_field(databases: tuple[psycopg.Connection, ...]) -> None:
    _, recs = databases
    with pytest.raises(
        psycopg.errors.InvalidParameterValue, match=r"user_params\.gender must be m, f"
    ) as info:
        recs.execute("SELECT recs.gender_of('x', 'user_params.gender')")
    assert info.value.diag.column_name == "user_params.gender"
    with pytest.raises(
        psycopg.errors.InvalidParameterValue, match="age_group must be one of under-18, 18-24"
    ):
        recs.execute("SELECT recs.check_age_group('old', 'age_group')")
    with pytest.raises(ValueError, match="gender must be m, f, male or female"):
        normalize_gender("x")


def test_tiers_match_sql(databases: tuple[psycopg.Connection, ...]) -> None:
    _, recs = databases
    recs.execute("UPDATE recs.settings SET value = '4' WHERE key = 'collaborative_min_interactions'")
    rows = recs.execute("SELECT n, recs.tier_of(n) FROM generate_series(0, 5) n ORDER BY n").fetchall()
    assert rows == [
        (0, "popular"), (1, "content_based"), (2, "content_based"), (3, "content_based"),
        (4, "collaborative"), (5, "collaborative"),
    ]  # fmt: skip
    assert {tier for _, tier in rows} == set(get_args(Tier))


def test_stored_demographics_are_checked_by_the_domain_functions(
    databases: tuple[psycopg.Connection, ...],
) -> None:
    _, recs = databases
    recs.execute("INSERT INTO recs.users (user_id) VALUES (gen_random_uuid())")  # user_key 1
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="age_group must be one of"):
        recs.execute("INSERT INTO recs.user_demographics (user_key, age_group) SELECT 1, '99+'")
    with pytest.raises(psycopg.errors.CheckViolation, match="user_demographics_gender_check"):
        recs.execute("INSERT INTO recs.user_demographics (user_key, gender) SELECT 1, 'male'")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["collaborative", "popular", "collaborative", "content_based", "popular"],
         ["collaborative", "popular", "content_based"]),
        (["a", None, "b", None, "a"], ["a", None, "b"]),
        ([], []),
        (None, []),
    ],
)  # fmt: skip
def test_distinct_in_order_keeps_first_appearances(
    databases: tuple[psycopg.Connection, ...], values: list[str | None] | None, expected: list[str | None]
) -> None:
    _, recs = databases
    assert recs.execute("SELECT recs.distinct_in_order(%s::text[])", (values,)).fetchone() == (expected,)
