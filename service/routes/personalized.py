"""POST /personalized: a user's page from the collaborative, content-based or popular tier."""

from __future__ import annotations

import time
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Request, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Body

from service.clients import Clients
from service.db import fetch_row
from service.main_reads import fetch_reading_main, main_link_failed
from service.models import PersonalizedRequest, PersonalizedResponse, parse_uuid
from service.recommendations import (
    RankedPage,
    cached_page,
    page_bounds,
    page_limit,
    price_from,
    price_to,
    response_fields,
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
        "present the user liked or clicked (including since the last refresh) or one in `exclude`. "
        "An unknown user is served as a user without interactions."
    ),
)
async def personalized(
    data: Annotated[
        PersonalizedRequest, Body(examples=[Example(summary="A page for a user", value=EXAMPLE)])
    ],
    clients: NamedDependency[Clients],
    request: Request[Any, Any, Any],
) -> PersonalizedResponse:
    """Validate, key the cache on the data versions and the user's unsynced events, then the page of
    api.personalized from the cache or the database."""
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
    # The user's unsynced events are read live from main, unless the breaker says main is failing.
    state = await fetch_reading_main(
        clients.pool, clients.main_breaker, clients.settings.main_read_timeout_ms / 1000, CacheState,
        "personalized_cache_state", user_id,
    )  # fmt: skip

    async def rank(call_args: tuple[Any, ...]) -> tuple[RankedPage, bool]:
        """The page, and whether it was ranked as its key says (main read, or not, as the state)."""
        try:
            ranked = await fetch_row(clients.pool, RankedPage, "personalized", *call_args)
        except asyncpg.PostgresError as error:
            if not (state.fresh_checked and main_link_failed(error)):
                raise
            # Main broke since the state was read: go on without it.
            ranked = await fetch_row(clients.pool, RankedPage, "personalized", *call_args[:-1], False)
        if ranked.fresh_checked != state.fresh_checked:
            clients.main_breaker.failed("error")
            return ranked, False  # never stored under a key that says main was read
        return ranked, True

    ranked, hit = await cached_page(
        clients, "personalized", (*args, state.fresh_checked),
        f"{state.popular_version}.{state.personalized_version}.{state.synced_version}",
        clients.settings.cache_ttl_personalized,
        page=page, limit=limit, key_context=(state.fresh_fingerprint,), rank=rank,
    )  # fmt: skip
    request.state.algorithm = ranked.algorithm_used  # the request log and telemetry count by it
    return PersonalizedResponse(
        **response_fields(ranked, hit, page, limit, started),
        tiers_used=ranked.tiers_used,
        interactions=ranked.interactions,
        degraded=not (ranked.fresh_checked and state.fresh_checked),
    )
