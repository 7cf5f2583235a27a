"""The OpenAPI document: Litestar's paths, with the bodies, errors and examples the server uses."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any, get_args

import msgspec

from service.models import (
    JOB_NAMES,
    METRICS_MEDIA_TYPE,
    DemographicsPatch,
    DemographicsRequest,
    Facets,
    Feedback,
    FeedbackRequest,
    GenderText,
    HealthReport,
    JobRun,
    JobStatus,
    PersonalizedRequest,
    PersonalizedResponse,
    PopularRequest,
    PopularResponse,
    Problem,
    SimilarRequest,
    SimilarResponse,
    Stats,
    UserProfile,
    UuidText,
)
from service.settings import Settings

REF = "#/components/schemas/{name}"
PROBLEM_MEDIA_TYPE = "application/problem+json"
USER_ID = "8f0e7f8e-0c7a-4a53-9f9e-7a4f3c2f6e11"
ITEMS = [
    "0b5d6c1e-4f1a-4e0b-9a57-2a1f3c9d8e01",
    "5c7e2a90-1d3b-4c8e-8f6a-9b0d1e2f3a42",
    "a91f0c3d-7e2b-4d5a-b6c8-1e9f2a3b4c55",
]
PAGE = {"page": 1, "limit": 3, "total_pages": 25, "total_items": 73, "has_next": True, "has_previous": False}
PROFILE = {
    "user_id": USER_ID,
    "demographics": {
        "gender": "f", "age_group": "25-34", "birth_date": "1994-06-01", "locale": "en", "geo_id": 3,
        "updated_at": "2026-12-03T07:40:12.512Z",
    },
    "preferences": {
        "interactions": 7, "likes": 3, "clicks": 4, "categories": {"books": 0.62, "toys": 0.38},
        "platforms": ["web"], "price_band": {"p25": 12.5, "p75": 48.0},
        "last_activity_at": "2026-12-02T19:03:44Z", "neighbors": 20,
    },
    "tier": "collaborative",
    "profile_as_of": "2026-12-03T07:30:02Z",
}  # fmt: skip
JOB_RUN = {
    "run_id": 4182, "job": "refresh_popular_items", "status": "succeeded",
    "started_at": "2026-12-03T07:45:00Z",
    "duration_ms": 2214.53, "rows": 16204, "error_code": None,
}  # fmt: skip
JOB_STATUS = {
    "job": "refresh_popular_items", "started_at": "2026-12-03T07:45:00Z",
    "finished_at": "2026-12-03T07:45:02.214Z",
    "duration_ms": 2214.53, "rows": 16204, "error_code": None, "runs": 96, "failures": 0, "skipped": 1,
    "cron_jobname": "refresh-popular-items", "schedule": "*/15 * * * *", "scheduled": True,
    "next_run_at": "2026-12-03T08:00:00Z", "cron_last_status": "succeeded",
    "cron_last_started_at": "2026-12-03T07:45:00Z", "running_since": None,
}  # fmt: skip
STATS = {
    "main_totals": {"public_presents": 16204, "private_presents": 436112, "likes": 208311, "clicks": 512904},
    "main_totals_counted_at": "2026-12-03T07:45:01Z",
    "derived_rows": {"popular_segments": 14880, "user_profiles": 48211, "user_neighbors": 964220},
    "users": {"with_demographics": 51022, "with_profile": 48211, "with_neighbors": 48190},
    "jobs": [JOB_STATUS],
    "telemetry_available": True,
    "counting_since": "2026-12-03T06:00:00Z",
    "cache": {"hits": 9120, "misses": 2281, "errors": 0, "hit_rate": 0.7999},
    "cache_by_kind": {"popular": {"hits": 8001, "misses": 1210, "errors": 0, "hit_rate": 0.8686}},
    "requests": [
        {"route": "/popular", "algorithm": "popular", "requests": 9211, "p50_ms": 1.2, "p95_ms": 3.9,
         "latency_samples": 1000},
    ],
    "online": [
        {"route": "personalized", "algorithm": "collaborative", "experiment": "item-weight", "variant": "b",
         "pages": 5120, "impressions": 102400, "open_impressions": 20480, "clicks": 3277,
         "likes": 410, "ctr": 0.032, "ctr_low": 0.0309, "ctr_high": 0.0331, "ltr": 0.004, "ltr_low": 0.0036,
         "ltr_high": 0.0044},
    ],
}  # fmt: skip
FACETS = {
    "categories": [{"name": "books", "presents": 1840}, {"name": "toys", "presents": 1210}],
    "platforms": [{"name": "amazon", "presents": 2904}, {"name": "etsy", "presents": 1002}],
    "prices": {"min": 1.5, "p10": 8.0, "p25": 14.99, "p50": 29.0, "p75": 59.9, "p90": 120.0, "max": 1999.0},
    "available_presents": 4871,
    "data_as_of": "2026-12-03T07:45:02Z",
}
FEEDBACK = {
    "user_id": USER_ID, "present_id": ITEMS[0], "kind": "dismiss",
    "dismissed_at": "2026-12-03T09:12:44.031Z", "expires_at": None,
}  # fmt: skip
HEALTH = {
    "status": "ok",
    "checks": {
        "recommendations_db": {"status": "up", "latency_ms": 0.61},
        "main_db": {"status": "up", "latency_ms": 2.4},
        "redis": {"status": "up", "latency_ms": 0.22},
    },
    "replicas": [],
}
HEALTH_DOWN = {
    "status": "down",
    "checks": {
        "recommendations_db": {"status": "down", "latency_ms": None},
        "main_db": {"status": "down", "latency_ms": None},
        "redis": {"status": "up", "latency_ms": 0.25},
    },
    "replicas": [],
}
# Past HTTP_LIMIT_CONCURRENCY, the answer on every route, /health too (service/server.py).
OVERLOADED = {
    "type": "about:blank", "title": "Service Unavailable", "status": 503,
    "detail": "Too many requests in progress; retry shortly.",
}  # fmt: skip
METRICS = (
    "# HELP mysanta_http_requests_total HTTP requests by route template, method and status.\n"
    "# TYPE mysanta_http_requests_total counter\n"
    'mysanta_http_requests_total{method="POST",route="/popular",status="200"} 9211.0\n'
)


def _problem(
    status: int, title: str, detail: str, path: str, errors: list[dict[str, Any]] | None = None
) -> Any:
    body: dict[str, Any] = {
        "type": "about:blank", "title": title, "status": status, "detail": detail, "instance": path,
        "request_id": "3b1f9c2e6a0d4f5b8c7e1a2d3f4b5c6d",
    }  # fmt: skip
    if errors:
        body["errors"] = errors
    return body


PROBLEMS: dict[int, tuple[str, Any]] = {
    400: ("Malformed request: the body is not JSON",
          _problem(400, "Request failed", "the request body is not valid JSON: malformed data", "/popular")),
    401: ("Missing or wrong HTTP Basic credentials",
          _problem(401, "Authentication required", "HTTP Basic credentials are required", "/popular")),
    403: ("The Rails credentials on a route that needs the admin pair",
          _problem(403, "Forbidden", "this route needs the admin credentials", "/admin/jobs")),
    404: ("Not found: no profile for the user (/user-profile), no public present with that id "
          "(/similar, /feedback)",
          _problem(404, "Not found", f"no profile for user {USER_ID}", f"/user-profile/{USER_ID}")),
    409: ("Another run of the job is in progress (this one was skipped)",
          _problem(409, "Job already running",
                   "another run of job cleanup is in progress; this one was skipped", "/admin/jobs/cleanup")),
    413: ("Request body over the size limit (64 KiB)",
          _problem(413, "Request failed", "Request Entity Too Large", "/popular")),
    422: ("Invalid request: `errors` names every bad field, by its path in the body or its parameter",
          _problem(422, "Invalid request",
                   "filters.price_from: must be between 0 and 10000000, got -1; pagination.limit: must be "
                   "between 1 and 100, got 0", "/popular",
                   [{"field": "filters.price_from", "message": "must be between 0 and 10000000, got -1",
                     "in": "body"},
                    {"field": "pagination.limit", "message": "must be between 1 and 100, got 0",
                     "in": "body"}])),
    500: ("Internal error (logged with the request id)",
          _problem(500, "Internal server error",
                   "The server failed to answer this request; it has been logged.", "/popular")),
    503: ("A database cannot answer now; retry after `Retry-After` seconds",
          _problem(503, "Database unavailable",
                   "The recommendations database cannot be reached; retry shortly.", "/popular")),
}  # fmt: skip

# Written by the HTTP protocol itself before any route runs (service/server.py), whatever the path:
# problem+json, then the connection is closed; no X-Request-ID (no request exists yet).
PROTOCOL_PROBLEMS: dict[int, tuple[str, Any]] = {
    408: ("The request did not arrive whole within HTTP_REQUEST_TIMEOUT_S (the connection is closed)",
          {"type": "about:blank", "title": "Request Timeout", "status": 408,
           "detail": "The request did not arrive in time."}),
    431: ("The request line and headers are over HTTP_MAX_HEADER_BYTES (the connection is closed)",
          {"type": "about:blank", "title": "Request Header Fields Too Large", "status": 431,
           "detail": "The request line and headers may take 16384 bytes."}),
}  # fmt: skip

# Where an operation's own error differs from the shared example above: a present, not a profile,
# not found; a bad id in the path or the query rather than in a body.
PRESENT_NOT_FOUND = _problem(404, "Not found", f"no public present {ITEMS[0]}", "/similar")
BAD_PATH_USER = _problem(
    422, "Invalid request", "user_id must be a uuid", "/user-profile/abc",
    [{"field": "user_id", "message": "must be a uuid, got 'abc'", "in": "path"}],
)  # fmt: skip
BAD_QUERY_USER = _problem(
    422, "Invalid request", "user_id must be a uuid", "/feedback",
    [{"field": "user_id", "message": "must be a uuid, got 'abc'", "in": "query"}],
)  # fmt: skip
UNKNOWN_JOB = f"unknown job; the jobs are: {', '.join(JOB_NAMES)}; got 'refresh'"
BAD_JOB = _problem(
    422, "Invalid request", f"job: {UNKNOWN_JOB}", "/admin/jobs/refresh",
    [{"field": "job", "message": UNKNOWN_JOB, "in": "path"}],
)  # fmt: skip


@dataclass(frozen=True)
class Operation:
    """What one operation takes and answers: its body, its success and the errors it can answer."""

    success: int
    response: Any = None  # a struct, list[struct], or None (no body)
    example: Any = None
    errors: tuple[int, ...] = ()
    body: type | None = None
    # One media type per body: a generated client makes a union of the types listed, and
    # openapi-python-client writes one it cannot import when two name the same schema.
    body_media_type: str = "application/json"
    media_type: str = "application/json"
    extra_responses: dict[str, tuple[str | None, Any]] = field(default_factory=dict)  # None: no body
    problem_examples: dict[int, Any] = field(default_factory=dict)  # by status, over PROBLEMS'


BODY_ERRORS = (400, 401, 413, 422, 500, 503)
ADMIN_ERRORS = (401, 403, 500, 503)
OPERATIONS: dict[str, Operation] = {
    "getHealth": Operation(200, HealthReport, HEALTH, extra_responses={"503": ("HealthReport", HEALTH_DOWN)}),
    "headHealth": Operation(200, extra_responses={"503": (None, None)}),
    "getStats": Operation(200, Stats, STATS, ADMIN_ERRORS),
    "getMetrics": Operation(200, None, METRICS, ADMIN_ERRORS, media_type=METRICS_MEDIA_TYPE),
    "getPopular": Operation(
        200,
        PopularResponse,
        {
            "items": ITEMS,
            "pagination": PAGE,
            "computation_time_ms": 1.84,
            "algorithm_used": "popular",
            "cache_hit": False,
            "recommendation_id": "01a2433f-d9ad-724a-869d-c822abc040b5",
            "variant": None,
            "fallback_level": "exact",
            "data_as_of": "2026-12-03T07:45:02Z",
            "levels_used": ["exact", "gender"],
            "warnings": [],
            "details": None,
        },
        BODY_ERRORS,
        PopularRequest,
    ),
    "getPersonalized": Operation(
        200,
        PersonalizedResponse,
        {
            "items": ITEMS,
            "pagination": PAGE,
            "computation_time_ms": 3.12,
            "algorithm_used": "collaborative",
            "cache_hit": False,
            "recommendation_id": "01a2433f-d9ad-724a-869d-c822abc040b5",
            "variant": "b",
            "fallback_level": None,
            "data_as_of": "2026-12-03T07:07:40Z",
            "tiers_used": ["collaborative", "content_based"],
            "interactions": 7,
            "degraded": False,
            "warnings": [],
            "details": [
                {
                    "id": ITEMS[0],
                    "score": 1.84,
                    "reasons": [
                        {"code": "similar_users", "count": 7},
                        {"code": "liked_with", "present_ids": [ITEMS[2]]},
                    ],
                },
                {"id": ITEMS[1], "score": 0.92, "reasons": [{"code": "similar_users", "count": 4}]},
                {
                    "id": ITEMS[2],
                    "score": 0.61,
                    "reasons": [{"code": "category_affinity", "category": "books"}],
                },
            ],
        },
        BODY_ERRORS,
        PersonalizedRequest,
    ),
    "getSimilar": Operation(
        200,
        SimilarResponse,
        {
            "items": ITEMS,
            "pagination": PAGE,
            "computation_time_ms": 2.41,
            "algorithm_used": "similar",
            "cache_hit": False,
            "recommendation_id": "01a2433f-d9ad-724a-869d-c822abc040b5",
            "variant": None,
            "fallback_level": "co_liked",
            "data_as_of": "2026-12-03T07:07:40Z",
            "levels_used": ["co_liked", "same_category"],
            "degraded": False,
            "warnings": [],
            "details": None,
        },
        tuple(sorted((*BODY_ERRORS, 404))),
        SimilarRequest,
        problem_examples={404: PRESENT_NOT_FOUND},
    ),
    "getFacets": Operation(200, Facets, FACETS, (401, 500, 503)),
    "postFeedback": Operation(
        200,
        Feedback,
        FEEDBACK,
        tuple(sorted((*BODY_ERRORS, 404))),
        FeedbackRequest,
        problem_examples={404: PRESENT_NOT_FOUND | {"instance": "/feedback"}},
    ),
    "deleteFeedback": Operation(
        204, None, None, (401, 422, 500, 503), problem_examples={422: BAD_QUERY_USER}
    ),
    "getUserProfile": Operation(
        200, UserProfile, PROFILE, (401, 404, 422, 500, 503), problem_examples={422: BAD_PATH_USER}
    ),
    "putUserProfile": Operation(200, UserProfile, PROFILE, BODY_ERRORS, DemographicsRequest),
    "patchUserProfile": Operation(
        200,
        UserProfile,
        PROFILE,
        BODY_ERRORS,
        DemographicsPatch,
        body_media_type="application/merge-patch+json",  # the server takes application/json too
    ),
    "deleteUserProfile": Operation(
        204, None, None, (401, 422, 500, 503), problem_examples={422: BAD_PATH_USER}
    ),
    "listJobs": Operation(200, list[JobStatus], [JOB_STATUS], ADMIN_ERRORS),
    "runJob": Operation(
        200, JobRun, JOB_RUN, (401, 403, 409, 422, 500, 503), problem_examples={422: BAD_JOB}
    ),
    "refreshPopularItems": Operation(200, JobRun, JOB_RUN, (401, 403, 409, 500, 503)),
    "updateUserProfiles": Operation(
        200, JobRun, JOB_RUN | {"job": "refresh_user_profiles", "rows": 48211}, (401, 403, 409, 500, 503)
    ),
    "updateUserSimilarities": Operation(
        200, JobRun, JOB_RUN | {"job": "refresh_user_similarities", "rows": 48190}, (401, 403, 409, 500, 503)
    ),
}
RESPONSE_STRUCTS = (
    HealthReport,
    Stats,
    PopularResponse,
    PersonalizedResponse,
    SimilarResponse,
    Facets,
    Feedback,
    UserProfile,
    JobStatus,
    JobRun,
)
REQUEST_STRUCTS = (
    PopularRequest,
    PersonalizedRequest,
    SimilarRequest,
    FeedbackRequest,
    DemographicsRequest,
    DemographicsPatch,
)
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "user_id": msgspec.json.schema(UuidText),
    "job": {
        "type": "string",
        "enum": list(JOB_NAMES),
        "description": "The job to run, as GET /admin/jobs names it.",
    },
}


def _components(settings: Settings) -> dict[str, Any]:
    """Schemas of every struct the API reads or writes, as msgspec checks them; responses list every
    field the server always sends as required (null when it has no value), and have no defaults."""
    _, components = msgspec.json.schema_components(
        (*REQUEST_STRUCTS, *RESPONSE_STRUCTS, Problem), ref_template=REF
    )
    nested = {"Pagination", "Demographics", "Preferences", "PriceBand", "Check", "MainTotals", "UserCounts",
              "CacheSummary", "LatencySummary", "FilterWarning", "FacetValue", "PriceQuantiles",
              "Detail", "ReplicaCheck", "FieldError"}  # fmt: skip
    response_names = nested | {struct.__name__ for struct in RESPONSE_STRUCTS}
    for name in response_names & components.keys():
        components[name]["required"] = list(components[name].get("properties", {}))
    # A default says what the server assumes when a client leaves a field out: nothing, in a response.
    # The server sends every required field and leaves the others out (Reason's parameters, a
    # Problem's instance and errors); a default there reads as "always present" to generators
    # (openapi-typescript types such a field as required by default).
    for name in _referenced(components, [*(struct.__name__ for struct in RESPONSE_STRUCTS), "Problem"]):
        for prop in components[name].get("properties", {}).values():
            prop.pop("default", None)
    limit = components["PageRequest"]["properties"]["limit"]["anyOf"][0]
    limit["maximum"] = settings.max_page_size
    limit["description"] = f"Page size: {settings.default_page_size} when absent or null."
    _split_gender_spellings(components)
    _type_string_enums(components)
    return components


def _referenced(components: dict[str, Any], roots: list[str]) -> set[str]:
    """The schemas named in roots and every schema they refer to, however deep."""
    found: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        text = msgspec.json.encode(components[name]).decode()
        pending += [ref.rsplit("/", 1)[1] for ref in re.findall(r'"\$ref":"([^"]+)"', text)]
    return found


def _type_string_enums(node: Any) -> None:
    """Give every enum of strings `"type": "string"`, which msgspec leaves out (a Literal is a bare
    enum): generators that read the type before the enum lose it (openapi-zod-client makes each such
    field z.unknown(), not an enum)."""
    if isinstance(node, dict):
        values = node.get("enum")
        if isinstance(values, list) and "type" not in node and all(isinstance(v, str) for v in values):
            node["type"] = "string"
        for value in node.values():
            _type_string_enums(value)
    elif isinstance(node, list):
        for value in node:
            _type_string_enums(value)


def _split_gender_spellings(components: dict[str, Any]) -> None:
    """Gender: an enum of the lower-case spellings, and a pattern for the other cases the server takes."""
    # A generated client names a constant after each value, upper-cased: f / F or female / Female /
    # FEMALE in one enum would be one name twice (openapi-python-client refuses the document; others
    # number them). The pattern keeps the document exact: what it allows, the server takes.
    accepted = set(get_args(GenderText))
    lower = sorted(value for value in accepted if value == value.lower())
    others = sorted(accepted - set(lower))
    for schema in components.values():
        for prop in schema.get("properties", {}).values():
            members = prop.get("anyOf", [])
            if any(set(member.get("enum", ())) == accepted for member in members):
                spellings = [{"enum": lower}, {"type": "string", "pattern": f"^(?:{'|'.join(others)})$"}]
                prop["anyOf"] = [
                    part
                    for member in members
                    for part in (spellings if set(member.get("enum", ())) == accepted else [member])
                ]


# Headers the server sends: the request's id on every answer (the caller's X-Request-ID when it sent
# a valid one), and those of a 401 and a 503.
REQUEST_ID_HEADER = {
    "description": "The request's id: the caller's X-Request-ID when valid, else a new one; logged with it.",
    "required": True,
    "schema": {"type": "string"},
}
REQUEST_ID_PARAMETER = {
    "name": "X-Request-ID",
    "in": "header",
    "required": False,
    "description": "The caller's request id (e.g. Rails' request.request_id), answered and logged with the "
    "request; 1 to 128 printable characters, else the server makes its own.",
    "schema": {"type": "string"},
}
PROBLEM_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "The HTTP Basic challenge.", "required": True, "schema": {"type": "string"},
        },
    },
    503: {
        "Retry-After": {
            "description": "Seconds to wait before retrying.", "required": True,
            "schema": {"type": "integer", "minimum": 0},
        },
    },
}  # fmt: skip


def _content(schema: dict[str, Any], example: Any, media_type: str) -> dict[str, Any]:
    return {media_type: {"schema": schema, "example": example}}


def _responses(operation: Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if operation.response is None and operation.example is None:
        responses[str(operation.success)] = {"description": "Done; no body."}
    elif operation.response is None:
        schema = {"type": "string"}
        responses[str(operation.success)] = {
            "description": "OK",
            "content": _content(schema, operation.example, operation.media_type),
        }
    else:
        schema = msgspec.json.schema_components([operation.response], ref_template=REF)[0][0]
        responses[str(operation.success)] = {
            "description": "OK",
            "content": _content(schema, operation.example, operation.media_type),
        }
    for extra_status, (name, example) in operation.extra_responses.items():
        if name is None:
            responses[extra_status] = {"description": "Recommendations cannot be served; no body."}
            continue
        responses[extra_status] = {
            "description": "Recommendations cannot be served (the report), or the worker is past "
            "HTTP_LIMIT_CONCURRENCY (problem+json, with Retry-After: the protocol answers it before "
            "any route runs)",
            "content": _content({"$ref": REF.format(name=name)}, example, "application/json")
            | _content({"$ref": REF.format(name="Problem")}, OVERLOADED, PROBLEM_MEDIA_TYPE),
            "headers": {"Retry-After": PROBLEM_HEADERS[503]["Retry-After"] | {"required": False}},
        }
    for status in operation.errors:
        description, example = PROBLEMS[status]
        responses[str(status)] = {
            "description": description,
            "content": _content(
                {"$ref": REF.format(name="Problem")}, operation.problem_examples.get(status, example),
                PROBLEM_MEDIA_TYPE,
            ),
            "headers": PROBLEM_HEADERS.get(status, {}),
        }  # fmt: skip
    for response in responses.values():
        response["headers"] = {"X-Request-ID": REQUEST_ID_HEADER} | response.get("headers", {})
    for status, (description, example) in PROTOCOL_PROBLEMS.items():
        responses[str(status)] = {
            "description": description,
            "content": _content({"$ref": REF.format(name="Problem")}, example, PROBLEM_MEDIA_TYPE),
        }
    return responses


def build_document(generated: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The served document: Litestar's paths and metadata, with every body, parameter and response
    schema replaced by the one the server validates and answers with."""
    document = copy.deepcopy(generated)
    document["components"]["schemas"] = _components(settings)
    for item in document["paths"].values():
        for operation in item.values():
            spec = OPERATIONS[operation["operationId"]]
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    parameter["schema"] = PATH_PARAMETERS[parameter["name"]]
            if spec.body is not None:
                examples = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
                example = (examples.get("schema", {}).get("examples") or [None])[0]
                operation["requestBody"] = {
                    "required": True,
                    "content": _content(
                        {"$ref": REF.format(name=spec.body.__name__)}, example, spec.body_media_type
                    ),
                }
            else:
                operation.pop("requestBody", None)
            operation["responses"] = _responses(spec)
            operation["parameters"] = [*operation.get("parameters", []), REQUEST_ID_PARAMETER]
            # Stated on each operation, as generators read it: the admin pair opens the Rails routes
            # too; /health needs none.
            if operation.get("security") == [{}]:
                operation["security"] = []
            elif "security" not in operation:
                operation["security"] = [{"basic": []}, {"admin": []}]
    return document
