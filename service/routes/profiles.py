"""PUT/PATCH/GET/DELETE /user-profile/{user_id}: demographics kept in the recs DB, profile cached in Redis."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Annotated

import asyncpg
import msgspec
from litestar import Response, delete, get, patch, put, route
from litestar.di import NamedDependency
from litestar.exceptions import ServiceUnavailableException
from litestar.openapi.spec import Example
from litestar.params import Body, Parameter

from service.cache import personalized_state_key
from service.clients import Clients
from service.db import call_api, fetch_row
from service.errors import RETRY_AFTER_SECONDS
from service.models import (
    UUID_PATTERN,
    AgeGroup,
    Demographics,
    DemographicsPatch,
    DemographicsRequest,
    Gender,
    Preferences,
    PriceBand,
    Tier,
    UserProfile,
    parse_uuid,
)
from service.replicas import ReadTarget
from service.validation import body_check

log = logging.getLogger("service.profiles")
STORE_ATTEMPTS = 3
EXAMPLE = {"gender": "female", "birth_date": "1994-06-01", "locale": "en", "geo_id": 3}
PATCH_EXAMPLE = {"gender": "male", "locale": None}
UserIdParam = Annotated[
    str,
    Parameter(
        description="The user's uuid.",
        examples=[Example(value="8f0e7f8e-0c7a-4a53-9f9e-7a4f3c2f6e11")],
        schema_extra={"format": "uuid", "pattern": UUID_PATTERN},
    ),
]


class ProfileRow(msgspec.Struct, kw_only=True):
    """api.user_profile's row: flat columns, nested into the response by to_profile."""

    user_id: str
    gender: Gender | None
    age_group: AgeGroup | None
    birth_date: dt.date | None
    locale: str | None
    geo_id: int | None
    demographics_updated_at: dt.datetime | None
    interactions: int
    likes: int
    clicks: int
    price_p25: float | None
    price_p75: float | None
    categories: dict[str, float]
    platforms: list[str]
    last_activity_at: dt.datetime | None
    neighbors: int
    tier: Tier
    profile_version: int
    profile_as_of: dt.datetime | None
    personalized_version: int
    synced_version: int

    def to_profile(self) -> UserProfile:
        """The response body: demographics (when synced), preferences and tier."""
        demographics = None
        if self.demographics_updated_at is not None:
            demographics = Demographics(
                gender=self.gender, age_group=self.age_group, birth_date=self.birth_date, locale=self.locale,
                geo_id=self.geo_id, updated_at=self.demographics_updated_at,
            )  # fmt: skip
        band = None
        if self.price_p25 is not None and self.price_p75 is not None:
            band = PriceBand(p25=round(self.price_p25, 2), p75=round(self.price_p75, 2))
        preferences = Preferences(
            interactions=self.interactions, likes=self.likes, clicks=self.clicks,
            categories={name: round(weight, 4) for name, weight in self.categories.items()},
            platforms=self.platforms, price_band=band, last_activity_at=self.last_activity_at,
            neighbors=self.neighbors,
        )  # fmt: skip
        return UserProfile(
            user_id=self.user_id, demographics=demographics, preferences=preferences, tier=self.tier,
            profile_as_of=self.profile_as_of,
        )  # fmt: skip


class CachedProfile(msgspec.Struct, kw_only=True):
    """The Redis copy: the profile (user_id left empty), the data versions it was read from
    (profiles, personalized, synced: the profiles, the neighbour pools, the interactions the
    tier counts), and its order: the demographics' updated_at in microseconds (0 without), so a
    copy read before a newer PUT never replaces that PUT's copy."""

    versions: tuple[int, int, int]
    order: int
    profile: UserProfile


_decoder = msgspec.json.Decoder(CachedProfile)


def profile_cache_key(user_id: str) -> str:
    """The Redis copy's key: a digest of the user id, so neither keys nor values in Redis name a user."""
    return "user-profile:" + hashlib.sha256(user_id.encode()).hexdigest()[:40]


async def _current_versions(target: ReadTarget) -> tuple[int, int, int]:
    names = ("profiles", "personalized", "synced")
    profiles, personalized, synced = [await target.versions.get(target.pool, name) for name in names]
    return profiles, personalized, synced


async def _load_and_remember(
    clients: Clients, pool: asyncpg.Pool, user_id: str, after_write: bool = False
) -> UserProfile:
    """The profile read on pool's server, and its Redis copy refreshed unless a newer one is there
    (after_write: the copy there, if Redis did not take the new one, is older than the write)."""
    row = await fetch_row(pool, ProfileRow, "user_profile", user_id)
    profile = row.to_profile()
    updated_at = row.demographics_updated_at
    cached = CachedProfile(
        versions=(row.profile_version, row.personalized_version, row.synced_version),
        order=0 if updated_at is None else int(updated_at.timestamp() * 1_000_000),
        profile=msgspec.structs.replace(profile, user_id=""),
    )
    key, ttl = profile_cache_key(user_id), clients.settings.cache_ttl_user_profile
    stored = await clients.cache.set_unless_newer(
        key, msgspec.json.encode(cached), cached.order, ttl, after_write=after_write
    )
    if after_write and not stored:
        # The copy in Redis, if any, may be older than what was just read (after a write): it goes
        # as soon as Redis answers again, and this worker does not read it meanwhile.
        clients.cache.delete_eventually(key, ttl)
    return profile


async def _store_and_load(clients: Clients, user_id: str, function: str, *args: object) -> UserProfile:
    """Store the demographics, tombstone the user's personalised state, then read the profile back;
    an erasure of the user committed in between (the read finds nothing) is met by storing again,
    so a write never answers 404."""
    for attempt in range(STORE_ATTEMPTS):
        await call_api(clients.pool, function, user_id, *args)
        await clients.router.remember_write(clients.cache, user_id)
        # The next /personalized reads the user's state anew. If Redis cannot take the tombstone
        # (down, or refusing writes while it still serves reads), a stored state is served until
        # it expires, within PERSONALIZED_STATE_MAX_AGE_MS.
        await clients.cache.forget_state(personalized_state_key(user_id))
        try:
            return await _load_and_remember(clients, clients.pool, user_id, after_write=True)
        except asyncpg.exceptions.NoDataFoundError:
            if attempt == STORE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


@put(
    "/user-profile/{user_id:str}", tags=["profiles"], summary="Store (replace) a user's demographics",
    status_code=200, operation_id="putUserProfile", before_request=body_check(DemographicsRequest),
    description=(
        "Replaces every stored field: a field left out is stored as null (PATCH changes some fields "
        "only). `gender` is stored as m or f. The age group is `age_group`, else the one of "
        "`birth_date` (a birth date in the future counts as age 0: under-18)."
    ),
)  # fmt: skip
async def put_user_profile(
    user_id: UserIdParam,
    data: Annotated[DemographicsRequest, Body(examples=[Example(summary="From Rails", value=EXAMPLE)])],
    clients: NamedDependency[Clients],
) -> UserProfile:
    """Upsert (replace) the demographics in the recs DB, tombstone the user's personalised state (the
    next /personalized reads it anew), then refresh the Redis copy of the profile."""
    uid = str(parse_uuid(user_id, "user_id", "path"))
    return await _store_and_load(
        clients, uid, "upsert_user_demographics",
        data.gender, data.age_group, data.birth_date, data.locale, data.geo_id,
    )  # fmt: skip


@patch(
    "/user-profile/{user_id:str}", tags=["profiles"], summary="Change some of a user's demographics",
    status_code=200, operation_id="patchUserProfile", before_request=body_check(DemographicsPatch),
    description=(
        "A JSON merge patch (RFC 7396) of the demographics: a field left out keeps its stored value, "
        "null clears it, `{}` changes nothing. A `birth_date` sent without `age_group` sets the age "
        "group from the birth date. A user without stored demographics starts from all fields null. "
        "Content type `application/merge-patch+json` or `application/json`."
    ),
)  # fmt: skip
async def patch_user_profile(
    user_id: UserIdParam,
    data: Annotated[DemographicsPatch, Body(examples=[Example(summary="From Rails", value=PATCH_EXAMPLE)])],
    clients: NamedDependency[Clients],
) -> UserProfile:
    """Merge the patch into the stored demographics in the recs DB, tombstone the user's personalised
    state, then refresh the Redis copy of the profile."""
    uid = str(parse_uuid(user_id, "user_id", "path"))
    return await _store_and_load(clients, uid, "patch_user_demographics", data.changes())


@route("/user-profile/{user_id:str}", http_method=["OPTIONS"], include_in_schema=False, sync_to_thread=False)
def user_profile_options() -> Response[None]:
    """The methods of the path: Litestar's own OPTIONS answer names only the first handler's method."""
    return Response(None, status_code=204, headers={"Allow": "DELETE, GET, OPTIONS, PATCH, PUT"})


@get(
    "/user-profile/{user_id:str}", tags=["profiles"], summary="A user's demographics and preference profile",
    operation_id="getUserProfile",
)  # fmt: skip
async def get_user_profile(user_id: UserIdParam, clients: NamedDependency[Clients]) -> UserProfile:
    """The Redis copy while the data it was read from is current, else from the recs DB (a standby
    once it has replayed the user's last write)."""
    uid = str(parse_uuid(user_id, "user_id", "path"))

    async def on(target: ReadTarget) -> UserProfile:
        cached_bytes = await clients.cache.get(profile_cache_key(uid))
        if cached_bytes is not None:
            cached = _decoder.decode(cached_bytes)
            if cached.versions == await _current_versions(target):
                return msgspec.structs.replace(cached.profile, user_id=uid)
        return await _load_and_remember(clients, target.pool, uid)

    return await clients.router.run_for_user(clients.cache, uid, on)


@delete(
    "/user-profile/{user_id:str}", tags=["profiles"], summary="Erase what the service holds of a user",
    operation_id="deleteUserProfile",
    description=(
        "Erases the user's demographics, synced interactions, preference profile, neighbours and "
        "dismissals in "
        "the recs DB, and the cached copies: GET /user-profile then answers 404 and no cached "
        "personalised page of the user is served again. Idempotent: 204 for an unknown or already "
        "erased user too. Main is not touched: the Rails app deletes the user there as well, or "
        "their likes and clicks come back at the next full resync. 503 when the cached profile "
        "could not be removed: retry."
    ),
)  # fmt: skip
async def delete_user_profile(user_id: UserIdParam, clients: NamedDependency[Clients]) -> None:
    """api.erase_user, then the Redis copy of the profile and a tombstone over the user's personalised
    state (no page cached under it is served again); 503 when Redis could not be asked (retry)."""
    uid = str(parse_uuid(user_id, "user_id", "path"))
    rows = await call_api(clients.pool, "erase_user", uid)
    await clients.router.remember_write(clients.cache, uid)
    log.info("profile.erased", extra={"erased": bool(rows[0]["erased"])})
    cache = clients.cache
    if not (
        await cache.forget_state(personalized_state_key(uid)) and await cache.delete(profile_cache_key(uid))
    ):
        raise ServiceUnavailableException(
            "The user was erased from the database, but the cached copy of the profile could not be "
            "removed: retry (the erasure is idempotent).",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )
