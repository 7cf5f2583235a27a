"""POST /similar: presents like a given one (its item neighbours), for anyone or for one user."""

from __future__ import annotations

import time
from typing import Annotated, Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Body

from service.clients import Clients
from service.models import SimilarRequest, parse_uuid
from service.recommendations import (
    Page,
    RankedPage,
    SimilarPage,
    cached_page,
    page_arguments,
    page_bounds,
    page_response,
    respond,
)
from service.replicas import ReadTarget
from service.user_pages import UserPageQuery, user_page
from service.validation import body_check

EXAMPLE = {
    "present_id": "0b5d6c1e-4f1a-4e0b-9a57-2a1f3c9d8e01",
    "user_id": "8f0e7f8e-0c7a-4a53-9f9e-7a4f3c2f6e11",
    "filters": {"price_to": 100},
    "pagination": {"page": 1, "limit": 20},
}
# What an anonymous page depends on: popularity (the fallback levels), the item neighbours (the
# similarity job bumps 'personalized') and the synced catalogue (availability).
ANONYMOUS_VERSIONS = ("popular", "personalized", "synced")


@post(
    "/similar",
    tags=["recommendations"],
    summary="Presents like a given present",
    status_code=200,
    operation_id="getSimilar",
    before_request=body_check(SimilarRequest, page_bounds),
    description=(
        "Presents most often liked or clicked by the same people as `present_id` (its item "
        "neighbours, kept by the similarity job), most similar first; when they run out, presents of "
        "its category by popularity, then every present by popularity (`fallback_level` and "
        "`levels_used` say which). Filters apply before ranking. Never returns the present itself or "
        "one in `exclude`; with `user_id`, never one that user liked or clicked more than "
        "PERSONALIZED_STATE_MAX_AGE_MS ago. An unknown or private `present_id` is a 404 (the same "
        "answer for both)."
    ),
)
async def similar(
    data: Annotated[
        SimilarRequest, Body(examples=[Example(summary="Presents like one, for a user", value=EXAMPLE)])
    ],
    clients: NamedDependency[Clients],
    request: Request[Any, Any, Any],
) -> Response[bytes]:
    """Validate, then the page of api.similar from the cache or the database: keyed on the data
    versions for anyone, on the user's state (as /personalized) with a user_id."""
    return page_response(await similar_page(clients, data, time.perf_counter()), request)


async def similar_page(clients: Clients, data: SimilarRequest, started: float) -> Page:
    """The page of a valid request (the route's, and the fast path's: service/fast_path.py)."""
    present_id = str(parse_uuid(data.present_id, "present_id"))
    user_id = None if data.user_id is None else str(parse_uuid(data.user_id, "user_id"))
    page, limit, page_args = page_arguments(data, clients.settings)
    args = (present_id, user_id, data.geo_id, *page_args)
    if user_id is not None:
        query = UserPageQuery(
            function="similar", user_id=user_id, args=args, page=page, limit=limit, into=SimilarPage,
            response_fields=_response_fields,
        )  # fmt: skip
        return await user_page(clients, started, query)

    async def on(target: ReadTarget) -> tuple[bytes, bool]:
        versions = [str(await target.versions.get(target.pool, name)) for name in ANONYMOUS_VERSIONS]
        return await cached_page(
            clients, target.pool, "similar", args, ".".join(versions), clients.settings.cache_ttl_popular,
            page=page, limit=limit, extra=lambda ranked: _response_fields(ranked, False), into=SimilarPage,
        )  # fmt: skip

    stored, hit = await clients.router.run(on)
    return respond(clients, stored, hit, started, route="similar")


def _response_fields(ranked: RankedPage, degraded: bool) -> dict[str, Any]:
    """The fields a similar page adds to the shared ones (degraded: ranked without the user's
    unsynced events, main being unreachable)."""
    return {"levels_used": ranked.levels_used, "degraded": degraded}
