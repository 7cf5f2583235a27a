"""POST /personalized: a user's page from the collaborative, content-based or popular tier."""

from __future__ import annotations

import time
from typing import Annotated, Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Body

from service.clients import Clients
from service.models import PersonalizedRequest, parse_uuid
from service.recommendations import Page, RankedPage, page_arguments, page_bounds, page_response
from service.user_pages import UserPageQuery, user_page
from service.validation import body_check

EXAMPLE = {
    "user_id": "8f0e7f8e-0c7a-4a53-9f9e-7a4f3c2f6e11",
    "geo_id": 3,
    "filters": {"price_to": 100, "category": "books"},
    "pagination": {"page": 1, "limit": 20},
    "exclude": ["0b5d6c1e-4f1a-4e0b-9a57-2a1f3c9d8e01"],
}


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
    """Validate, then the page of api.personalized from the cache keyed on the user's state (the data
    versions and the user's unsynced events, kept in Redis for PERSONALIZED_STATE_MAX_AGE_MS) or the
    database."""
    return page_response(await personalized_page(clients, data, time.perf_counter()), request)


async def personalized_page(clients: Clients, data: PersonalizedRequest, started: float) -> Page:
    """The page of a valid request (the route's, and the fast path's: service/fast_path.py)."""
    user_id = str(parse_uuid(data.user_id, "user_id"))
    page, limit, page_args = page_arguments(data, clients.settings)
    args = (user_id, data.geo_id, *page_args)
    query = UserPageQuery(
        function="personalized", user_id=user_id, args=args, page=page, limit=limit, into=RankedPage,
        response_fields=_response_fields,
    )  # fmt: skip
    return await user_page(clients, started, query)


def _response_fields(ranked: RankedPage, degraded: bool) -> dict[str, Any]:
    """The fields a personalised response adds to the shared ones."""
    return {"tiers_used": ranked.tiers_used, "interactions": ranked.interactions, "degraded": degraded}
