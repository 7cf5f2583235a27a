"""POST /popular: popular presents for a demographic segment, filtered, paginated, cached."""

from __future__ import annotations

import time
from typing import Annotated, Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Body

from service.clients import Clients
from service.models import PopularRequest
from service.recommendations import (
    Page,
    RankedPage,
    cached_page,
    page_arguments,
    page_bounds,
    page_response,
    respond,
)
from service.replicas import ReadTarget
from service.validation import body_check

EXAMPLE = {
    "user_params": {"gender": "female", "age": "25-34", "geo_id": 3},
    "filters": {"price_from": 10, "price_to": 80, "category": "books"},
    "pagination": {"page": 1, "limit": 20},
}


@post(
    "/popular",
    tags=["recommendations"],
    summary="Popular presents for a demographic segment",
    status_code=200,
    operation_id="getPopular",
    before_request=body_check(PopularRequest, page_bounds),
    description=(
        "Time-decayed popularity with the fallback chain exact (gender + age group) -> gender -> "
        "age group -> global. Filters apply before ranking, category and platform names "
        "case-insensitively; a name that matches no available present gives an empty page and a "
        "`warnings` entry naming it. Never returns a present in `exclude`. `age` takes an age group "
        "(`25-34`) or an age in years."
    ),
)
async def popular(
    data: Annotated[
        PopularRequest, Body(examples=[Example(summary="A woman aged 25-34, books up to 80", value=EXAMPLE)])
    ],
    clients: NamedDependency[Clients],
    request: Request[Any, Any, Any],
) -> Response[bytes]:
    """Validate, then the page of api.popular from the cache (its stored bytes) or the database."""
    return page_response(await popular_page(clients, data, time.perf_counter()), request)


async def popular_page(clients: Clients, data: PopularRequest, started: float) -> Page:
    """The page of a valid request (the route's, and the fast path's: service/fast_path.py)."""
    user = data.user_params
    page, limit, page_args = page_arguments(data, clients.settings)
    args = (user.gender, user.age_group, user.category, user.geo_id, *page_args)

    async def on(target: ReadTarget) -> tuple[bytes, bool]:
        version = str(await target.versions.get(target.pool, "popular"))
        return await cached_page(
            clients, target.pool, "popular", args, version, clients.settings.cache_ttl_popular,
            page=page, limit=limit, extra=_extra,
        )  # fmt: skip

    stored, hit = await clients.router.run(on)
    return respond(clients, stored, hit, started, route="popular")


def _extra(ranked: RankedPage) -> dict[str, Any]:
    """The fields a popular response adds to the shared ones."""
    return {"levels_used": ranked.levels_used}
