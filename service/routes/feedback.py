"""POST and DELETE /feedback: a user's "not interested" in a present (a dismissal), and its undoing."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, delete, post, route
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.openapi.spec import Example
from litestar.params import Body, Parameter

from service.cache import personalized_state_key
from service.clients import Clients
from service.db import call_api, fetch_row
from service.models import UUID_PATTERN, Feedback, FeedbackRequest, parse_uuid
from service.validation import body_check

EXAMPLE = {
    "user_id": "8f0e7f8e-0c7a-4a53-9f9e-7a4f3c2f6e11",
    "present_id": "0b5d6c1e-4f1a-4e0b-9a57-2a1f3c9d8e01",
    "kind": "dismiss",
}
FEEDBACK_KINDS = ("dismiss",)
UuidQuery = Annotated[
    str,
    Parameter(
        description="A uuid.",
        examples=[Example(value=EXAMPLE["user_id"])],
        schema_extra={"format": "uuid", "pattern": UUID_PATTERN},
    ),
]


@post(
    "/feedback",
    tags=["feedback"],
    summary="Say a user is not interested in a present",
    status_code=200,
    operation_id="postFeedback",
    before_request=body_check(FeedbackRequest),
    description=(
        "`kind: dismiss`: the present leaves the user's pages on every route (`/personalized`, "
        "`/similar` with the user_id) from the next request, for `dismissal_days` (a `recs.settings` "
        "knob; 0, the default: for ever). Dismissing again renews it. The present must be a public "
        "present the service has synced: an unknown or private one is a 404 (the same answer)."
    ),
)
async def post_feedback(
    data: Annotated[FeedbackRequest, Body(examples=[Example(summary="Not interested", value=EXAMPLE)])],
    clients: NamedDependency[Clients],
) -> Feedback:
    """Store the dismissal, then tombstone the user's personalised state, so the next page of the user
    is ranked without the present."""
    user_id = str(parse_uuid(data.user_id, "user_id"))
    present_id = str(parse_uuid(data.present_id, "present_id"))
    stored = await fetch_row(clients.pool, Feedback, "dismiss_present", user_id, present_id)
    await clients.router.remember_write(clients.cache, user_id)
    # If Redis cannot take the tombstone, it cannot serve the old state either; a stored one
    # expires within PERSONALIZED_STATE_MAX_AGE_MS.
    await clients.cache.forget_state(personalized_state_key(user_id))
    return stored


def check_undo_parameters(request: Request[Any, Any, Any]) -> None:
    """A 422 naming every bad query parameter at once, before Litestar reads them (its own check
    stops at the first): one given more than once (which one was meant is not known), a missing or
    malformed id, an unknown kind."""
    query = request.query_params
    errors: list[dict[str, Any]] = []

    def refuse(key: str, message: str) -> None:
        errors.append({"key": key, "message": message, "source": "query"})

    repeated = sorted(key for key in query if len(query.getall(key)) > 1)
    for key in ("user_id", "present_id"):
        value = query.get(key)
        if key in repeated:
            continue
        if value is None:
            refuse(key, "is required")
            continue
        try:
            parse_uuid(value, key, "query")
        except ValidationException as error:
            errors.extend(error.extra if isinstance(error.extra, list) else [])
    kind = query.get("kind", FEEDBACK_KINDS[0])
    if "kind" not in repeated and kind not in FEEDBACK_KINDS:
        refuse("kind", f"must be one of {', '.join(FEEDBACK_KINDS)}, got {kind[:64]!r}")
    for key in repeated:
        refuse(key, "is given more than once; give it once")
    if errors:
        raise ValidationException(
            "; ".join(f"{error['key']}: {error['message']}" for error in errors), extra=errors
        )


@delete(
    "/feedback",
    tags=["feedback"],
    summary="Undo a dismissal",
    operation_id="deleteFeedback",
    before_request=check_undo_parameters,
    description=(
        "The present may come back in the user's pages from the next request. Idempotent: 204 when "
        "there was nothing to undo too."
    ),
)
async def delete_feedback(
    clients: NamedDependency[Clients],
    user_id: UuidQuery,
    present_id: UuidQuery,
    kind: Annotated[
        str,
        Parameter(description="The kind of feedback to undo.", schema_extra={"enum": list(FEEDBACK_KINDS)}),
    ] = "dismiss",
) -> None:
    """Remove the dismissal, then tombstone the user's personalised state (the parameters were
    checked by check_undo_parameters)."""
    user_uuid = str(parse_uuid(user_id, "user_id", "query"))
    present_uuid = str(parse_uuid(present_id, "present_id", "query"))
    await call_api(clients.pool, "undismiss_present", user_uuid, present_uuid)
    await clients.router.remember_write(clients.cache, user_uuid)
    await clients.cache.forget_state(personalized_state_key(user_uuid))


@route("/feedback", http_method=["OPTIONS"], include_in_schema=False, sync_to_thread=False)
def feedback_options() -> Response[None]:
    """The methods of the path: Litestar's own OPTIONS answer names only the first handler's method."""
    return Response(None, status_code=204, headers={"Allow": "DELETE, OPTIONS, POST"})
