"""PUT/GET /user-profile/{user_id}: demographics stored in the recs DB, profile cached in Redis."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import asyncpg
import msgspec
from litestar import get, put
from litestar.datastructures import State
from litestar.openapi.spec import Example
from litestar.params import Body, Parameter

from service.db import call_api
from service.errors import problem_responses
from service.models import (
    Demographics,
    DemographicsRequest,
    Preferences,
    PriceBand,
    UserProfile,
    parse_uuid,
)

EXAMPLE = {"gender": "female", "age_group": "25-34", "birth_date": None, "locale": "en", "geo_id": 3}
UserIdParam = Annotated[
    str,
    Parameter(
        description="The user's uuid.",
        examples=[Example(value="8f0e7f8e-0c7a-4a53-9f9e-7a4f3c2f6e11")],
        schema_extra={"format": "uuid"},
    ),
]


class CachedProfile(msgspec.Struct):
    """The Redis copy: the profile and the profiles data version it was built from."""

    version: int
    profile: UserProfile


_decoder = msgspec.json.Decoder(CachedProfile)


def _profile(row: asyncpg.Record) -> UserProfile:
    demographics = None
    if row["demographics_updated_at"] is not None:
        demographics = Demographics(
            gender=row["gender"], age_group=row["age_group"], birth_date=row["birth_date"],
            locale=row["locale"], geo_id=row["geo_id"], updated_at=row["demographics_updated_at"],
        )  # fmt: skip
    band = None
    if row["price_p25"] is not None:
        band = PriceBand(p25=round(row["price_p25"], 2), p75=round(row["price_p75"], 2))
    return UserProfile(
        user_id=str(row["user_id"]),
        demographics=demographics,
        preferences=Preferences(
            interactions=row["interactions"],
            likes=row["likes"],
            clicks=row["clicks"],
            categories=row["categories"],
            platforms=list(row["platforms"]),
            price_band=band,
            last_activity_at=row["last_activity_at"],
            neighbors=row["neighbors"],
        ),
        tier=row["tier"],
        profile_as_of=row["profile_as_of"],
    )


async def _load_and_remember(state: State, user_id: UUID) -> UserProfile:
    row = (await call_api(state.pool, "user_profile", user_id))[0]
    profile = _profile(row)
    cached = CachedProfile(version=row["profile_version"], profile=profile)
    await state.cache.set(
        f"user-profile:{user_id}", msgspec.json.encode(cached), state.settings.cache_ttl_user_profile
    )
    return profile


@put(
    "/user-profile/{user_id:str}", tags=["profiles"], summary="Store a user's demographics", status_code=200,
    responses=problem_responses(400, 413),
)  # fmt: skip
async def put_user_profile(
    user_id: UserIdParam,
    data: Annotated[DemographicsRequest, Body(examples=[Example(summary="From Rails", value=EXAMPLE)])],
    state: State,
) -> UserProfile:
    """Upsert (replace) the demographics in the recs DB, then refresh the Redis copy of the profile."""
    uid = parse_uuid(user_id, "user_id", "path")
    await call_api(
        state.pool, "upsert_user_demographics",
        uid, data.gender, data.age_group, data.birth_date, data.locale, data.geo_id,
    )  # fmt: skip
    return await _load_and_remember(state, uid)


@get(
    "/user-profile/{user_id:str}", tags=["profiles"], summary="A user's demographics and preference profile",
    responses=problem_responses(404),
)  # fmt: skip
async def get_user_profile(user_id: UserIdParam, state: State) -> UserProfile:
    """The Redis copy while the profiles data has not been refreshed since, else from the recs DB."""
    uid = parse_uuid(user_id, "user_id", "path")
    cached_bytes = await state.cache.get(f"user-profile:{uid}")
    if cached_bytes is not None:
        cached = _decoder.decode(cached_bytes)
        if cached.version == await state.versions.get(state.pool, "profiles"):
            return cached.profile
    return await _load_and_remember(state, uid)
