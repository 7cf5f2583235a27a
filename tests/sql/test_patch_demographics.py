"""api.patch_user_demographics: a JSON merge patch of the stored demographics, checked as PUT is."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.conftest import app_connect


def _patch(user: uuid.UUID, patch: dict[str, object]) -> tuple[object, ...]:
    with app_connect() as app:
        row = app.execute(
            "SELECT gender, age_group, birth_date::text, locale, geo_id"
            " FROM api.patch_user_demographics(%s, %s)",
            (user, Jsonb(patch)),
        ).fetchone()
    assert row is not None
    return tuple(row)


def test_present_keys_set_null_clears_absent_keys_keep(databases: tuple[psycopg.Connection, ...]) -> None:
    user = uuid.uuid4()
    assert _patch(user, {"gender": "female", "locale": "en"}) == ("f", None, None, "en", None)
    assert _patch(user, {"geo_id": 3}) == ("f", None, None, "en", 3)
    assert _patch(user, {"locale": None}) == ("f", None, None, None, 3)
    assert _patch(user, {"birth_date": "1990-05-01"})[1:3] == ("35-44", "1990-05-01")
    assert _patch(user, {"age_group": "55+"})[1:3] == ("55+", "1990-05-01")
    assert _patch(user, {"birth_date": "2099-01-01"})[1] == "under-18"  # re-derived; age 0
    assert _patch(user, {}) == ("f", "under-18", "2099-01-01", None, 3)


def test_bad_keys_and_values_name_the_field(databases: tuple[psycopg.Connection, ...]) -> None:
    user = uuid.uuid4()
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="unknown field nickname") as info:
        _patch(user, {"nickname": "x"})
    assert info.value.diag.column_name == "nickname"
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="gender must be m, f"):
        _patch(user, {"gender": "robot"})
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="age_group must be one of"):
        _patch(user, {"age_group": "old"})
