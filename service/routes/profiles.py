"""PUT/GET /user-profile/{user_id}: demographics stored in the recs DB, copied to Redis."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import get, put
from litestar.datastructures import State
from litestar.exceptions import ValidationException
from litestar.openapi.spec import Example
from litestar.params import Body, Parameter

from service.db import call_api
from service.models import Demographics, DemographicsRequest

EXAMPLE = {"gender": "female", "age_group": "25-34", "birth_date": None, "locale": "en", "geo_id": 3}
_decoder = msgspec.json.Decoder(Demographics)


UserIdParam = Annotated[
    str,
    Parameter(
        description="The user's uuid.", examples=[Example(value="8f0e7f8e-0c7a-4a53-9f9e-7a4f3c2f6e11")]
    ),
]


def parse_user_id(value: str) -> UUID:
    """A path uuid, or a 422 that names `user_id`."""
    try:
        return UUID(value)
    except ValueError:
        raise ValidationException(
            "user_id must be a uuid",
            extra=[{"key": "user_id", "message": f"must be a uuid, got {value[:64]!r}", "source": "path"}],
        ) from None


def _cache_key(user_id: UUID) -> str:
    return f"user-profile:{user_id}"


def _demographics(row: object) -> Demographics:
    values = dict(row)  # type: ignore[call-overload]
    values["user_id"] = str(values["user_id"])
    return msgspec.convert(values, Demographics)


async def _remember(state: State, user_id: UUID, stored: Demographics) -> Demographics:
    ttl = state.settings.cache_ttl_user_profile
    await state.cache.set(_cache_key(user_id), msgspec.json.encode(stored), ttl)
    return stored


@put("/user-profile/{user_id:str}", tags=["profiles"], summary="Store a user's demographics", status_code=200)
async def put_user_profile(
    user_id: UserIdParam,
    data: Annotated[DemographicsRequest, Body(examples=[Example(summary="From Rails", value=EXAMPLE)])],
    state: State,
) -> Demographics:
    """Upsert (replace) the demographics in the recs DB, then refresh the Redis copy."""
    uid = parse_user_id(user_id)
    rows = await call_api(
        state.pool, "upsert_user_demographics",
        uid, data.gender, data.age_group, data.birth_date, data.locale, data.geo_id,
    )  # fmt: skip
    return await _remember(state, uid, _demographics(rows[0]))


@get("/user-profile/{user_id:str}", tags=["profiles"], summary="A user's stored demographics")
async def get_user_profile(user_id: UserIdParam, state: State) -> Demographics:
    """From Redis when cached, else from the recs DB (404 for a user never synced)."""
    uid = parse_user_id(user_id)
    cached = await state.cache.get(_cache_key(uid))
    if cached is not None:
        return _decoder.decode(cached)
    rows = await call_api(state.pool, "user_demographics", uid)
    return await _remember(state, uid, _demographics(rows[0]))
