"""POST /personalized: a user's page from the collaborative, content-based or popular tier."""

from __future__ import annotations

import hashlib
import time
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Body

from service.cache import personalized_state_key
from service.clients import Clients
from service.db import fetch_row
from service.main_reads import fetch_reading_main, main_link_failed
from service.models import PersonalizedRequest, parse_uuid
from service.recommendations import (
    RankedPage,
    args_digest,
    call_arguments,
    in_range,
    page_body,
    page_bounds,
    page_limit,
    price_from,
    price_to,
    respond,
)
from service.validation import body_check

EXAMPLE = {
    "user_id": "8f0e7f8e-0c7a-4a53-9f9e-7a4f3c2f6e11",
    "geo_id": 3,
    "filters": {"price_to": 100, "category": "books"},
    "pagination": {"page": 1, "limit": 20},
    "exclude": ["0b5d6c1e-4f1a-4e0b-9a57-2a1f3c9d8e01"],
}


class CacheState(msgspec.Struct, kw_only=True):
    """api.personalized_cache_state: what a user's cached page depends on besides the request."""

    popular_version: int
    personalized_version: int
    synced_version: int
    fresh_fingerprint: str
    fresh_checked: bool

    @property
    def token(self) -> str:
        """A digest of the whole state: the part of the page key that changes when any of it does."""
        text = (
            f"{self.popular_version}.{self.personalized_version}.{self.synced_version}"
            f"|{self.fresh_checked}|{self.fresh_fingerprint}"
        )
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@post(
    "/personalized",
    tags=["recommendations"],
    summary="Personalised presents for a user",
    status_code=200,
    operation_id="getPersonalized",
    before_request=body_check(PersonalizedRequest, page_bounds),
    description=(
        "The tier follows the user's interactions: 0 popular (demographic), 1-2 content-based, 3+ "
        "collaborative; a tier that cannot fill the page is topped up by the next. Never returns a "
        "present the user liked or clicked more than PERSONALIZED_STATE_MAX_AGE_MS ago (2 s by "
        "default; including since the last refresh) or one in `exclude`. An unknown user is served "
        "as a user without interactions."
    ),
)
async def personalized(
    data: Annotated[
        PersonalizedRequest, Body(examples=[Example(summary="A page for a user", value=EXAMPLE)])
    ],
    clients: NamedDependency[Clients],
    request: Request[Any, Any, Any],
) -> Response[bytes]:
    """Validate, key the cache on the user's state (the data versions and the user's unsynced events,
    kept in Redis for PERSONALIZED_STATE_MAX_AGE_MS), then the page of api.personalized from the
    cache or the database."""
    started = time.perf_counter()
    user_id = str(parse_uuid(data.user_id, "user_id"))
    exclude = sorted(
        {str(parse_uuid(value, f"exclude[{index}]")) for index, value in enumerate(data.exclude)}
    )
    limit = page_limit(data.pagination, clients.settings)
    page = data.pagination.page
    filters = data.filters
    args = (
        user_id, data.geo_id, price_from(filters.price_from), price_to(filters.price_to), filters.category,
        filters.platform, page, limit, exclude,
    )  # fmt: skip
    cache, max_age_ms = clients.cache, clients.settings.personalized_state_max_age_ms
    suffix = ":" + args_digest(args)
    if max_age_ms <= 0:  # the state read for this request, from main
        state = await _read_state(clients, user_id)
    else:  # one round trip: the stored state and the page under it
        found = await cache.personalized_lookup(
            personalized_state_key(user_id), "personalized", suffix, clients.settings.cache_ttl_personalized
        )
        usable = found.token is not None and not clients.main_breaker.is_open  # stored states read main
        if usable and 0 <= found.ttl_ms < max_age_ms / 2:
            # Past half its life: read it again in the background, so a user who keeps asking
            # never waits for main; requests meanwhile use the stored one, trusted until it expires.
            clients.state_reads.start(user_id, lambda: _read_and_store_state(clients, user_id))
        if found.page is not None:
            return respond(found.page, True, started, request)
        if usable and found.token is not None:
            page_key = "personalized:" + found.token + suffix
            return await _rank(clients, args, page_key, True, page, limit, started, request)
        # One read per user at a time in this worker; requests for the user meanwhile share it.
        state = await clients.state_reads.run(user_id, lambda: _read_and_store_state(clients, user_id))
    page_key = "personalized:" + state.token + suffix
    cached = await cache.get(page_key)
    if cached is not None:
        return respond(cached, True, started, request)
    return await _rank(clients, args, page_key, state.fresh_checked, page, limit, started, request)


async def _read_state(clients: Clients, user_id: str) -> CacheState:
    """The user's state from the database, reading main unless the breaker says main is failing."""
    return await fetch_reading_main(
        clients.pool, clients.main_breaker, clients.settings.main_read_timeout_ms / 1000, CacheState,
        "personalized_cache_state", user_id,
    )  # fmt: skip


async def _read_and_store_state(clients: Clients, user_id: str) -> CacheState:
    """The user's state from the database, stored in Redis to be trusted until
    PERSONALIZED_STATE_MAX_AGE_MS after the read began (never a state read without main)."""
    read_at = time.monotonic()
    state = await _read_state(clients, user_id)
    keep_ms = clients.settings.personalized_state_max_age_ms - int((time.monotonic() - read_at) * 1000)
    if state.fresh_checked and keep_ms > 0:
        await clients.cache.store_state(personalized_state_key(user_id), state.token, keep_ms)
    return state


async def _rank(
    clients: Clients, args: tuple[Any, ...], page_key: str, fresh_checked: bool, page: int, limit: int,
    started: float, request: Request[Any, Any, Any],
) -> Response[bytes]:  # fmt: skip
    """Rank the page now, reading main when the state did (fresh_checked), and store it under
    page_key when it was ranked as the key says."""
    call_args = (*call_arguments(args), fresh_checked)
    try:
        ranked = await fetch_row(clients.pool, RankedPage, "personalized", *call_args)
    except asyncpg.PostgresError as error:
        if not (fresh_checked and main_link_failed(error)):
            raise
        # Main broke since the state was read: go on without it.
        ranked = await fetch_row(clients.pool, RankedPage, "personalized", *call_args[:-1], False)
    extra = {
        "tiers_used": ranked.tiers_used,
        "interactions": ranked.interactions,
        "degraded": not (ranked.fresh_checked and fresh_checked),
    }
    body = page_body(ranked, page, limit, extra)
    if ranked.fresh_checked != fresh_checked:
        clients.main_breaker.failed("error")  # never stored under a key that says main was read
    elif in_range(ranked, page, limit):
        await clients.cache.set(page_key, body, clients.settings.cache_ttl_personalized)
        clients.cache.keep_page(page_key, body, clients.settings.cache_ttl_personalized)
    return respond(body, False, started, request)
