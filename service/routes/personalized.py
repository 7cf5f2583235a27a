"""POST /personalized: a user's page from the collaborative, content-based or popular tier."""

from __future__ import annotations

import time
from typing import Annotated, Any

from litestar import Request, post
from litestar.datastructures import State
from litestar.openapi.spec import Example
from litestar.params import Body

from service.db import call_api
from service.errors import problem_responses
from service.models import PersonalizedRequest, PersonalizedResponse, parse_uuid
from service.recommendations import RankedPage, cache_key, cached_page, page_limit, price, response_fields

EXAMPLE = {
    "user_id": "8f0e7f8e-0c7a-4a53-9f9e-7a4f3c2f6e11",
    "geo_id": 3,
    "filters": {"price_from": None, "price_to": 100, "category": None, "platform": None},
    "pagination": {"page": 1, "limit": 20},
    "exclude": [],
}


@post(
    "/personalized",
    tags=["recommendations"],
    summary="Personalised presents for a user",
    status_code=200,
    responses=problem_responses(400, 413),
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
    state: State,
    request: Request[Any, Any, Any],
) -> PersonalizedResponse:
    """Validate, key the cache on data versions and the user's unsynced events, else call api.personalized."""
    started = time.perf_counter()
    settings = state.settings
    user_id = parse_uuid(data.user_id, "user_id")
    exclude = [parse_uuid(value, f"exclude[{position}]") for position, value in enumerate(data.exclude)]
    limit = page_limit(data.pagination, settings)
    page = data.pagination.page
    filters = data.filters
    state_row = (await call_api(state.pool, "personalized_cache_state", user_id))[0]

    async def rank() -> RankedPage:
        row = (
            await call_api(
                state.pool,
                "personalized",
                user_id,
                data.geo_id,
                price(filters.price_from),
                price(filters.price_to),
                filters.category,
                filters.platform,
                page,
                limit,
                exclude,
            )
        )[0]
        return RankedPage(
            items=[str(item) for item in row["items"]],
            total_items=row["total_items"],
            algorithm_used=row["algorithm_used"],
            fallback_level=row["fallback_level"],
            tiers_used=list(row["tiers_used"]),
            interactions=row["interactions"],
            degraded=not row["fresh_checked"],
            data_as_of=row["data_as_of"],
        )

    params = (
        str(user_id), data.geo_id, filters.price_from, filters.price_to, filters.category, filters.platform,
        page, limit, sorted(str(item) for item in exclude), state_row["fresh_fingerprint"],
    )  # fmt: skip
    version = f"{state_row['popular_version']}.{state_row['personalized_version']}"
    ranked, hit = await cached_page(
        state.cache, cache_key("personalized", version, params), settings.cache_ttl_personalized, rank
    )
    request.state.algorithm = ranked.algorithm_used  # the request log and telemetry count by it
    return PersonalizedResponse(
        **response_fields(ranked, hit, page, limit, started),
        tiers_used=ranked.tiers_used,
        interactions=ranked.interactions,
        degraded=ranked.degraded or not state_row["fresh_checked"],
    )
