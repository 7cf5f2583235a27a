"""The cached path every recommendation route shares: one argument list gives both the api.* call and
the cache key; a miss calls the function and stores the response body unless the page lies past the
end of the ranking; a hit answers with the stored bytes."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, Literal, NamedTuple

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.enums import MediaType
from litestar.exceptions import ValidationException

from service.clients import STATE_KEY, Clients
from service.db import fetch_row
from service.models import (
    Detail,
    FilterWarning,
    Level,
    PageOptions,
    PageRequest,
    Pagination,
    SimilarLevel,
    Tier,
    parse_uuid,
)
from service.online import Variant
from service.settings import Settings
from service.validation import Bounds


class RankedPage(msgspec.Struct, kw_only=True):
    """One page as an api.* ranking function returned it (its result columns by name)."""

    items: list[str]
    total_items: int
    fallback_level: Level | SimilarLevel | None = None
    levels_used: list[Level | SimilarLevel] = msgspec.field(default_factory=list)  # api.popular, api.similar
    data_version: int | None = None  # api.popular: the popularity version the page was ranked from
    algorithm_used: Tier | Literal["similar"] = "popular"  # api.personalized names the tier
    tiers_used: list[Tier] = msgspec.field(default_factory=list)  # api.personalized
    interactions: int = 0  # api.personalized
    fresh_checked: bool = True  # api.personalized: false when main could not be read
    data_as_of: dt.datetime | None = None
    warnings: list[FilterWarning] = msgspec.field(default_factory=list)  # filter values matching nothing
    details: list[Detail] | None = None  # with explain: why each present is there


class SimilarPage(RankedPage, kw_only=True):
    """A page of api.similar, which ranks by item neighbours (the algorithm it names)."""

    algorithm_used: Tier | Literal["similar"] = "similar"


_encoder = msgspec.json.Encoder()


def page_limit(pagination: PageRequest, settings: Settings) -> int:
    """The page size: DEFAULT_PAGE_SIZE when absent, at most MAX_PAGE_SIZE (else 422 naming the field)."""
    limit = settings.default_page_size if pagination.limit is None else pagination.limit
    if limit > settings.max_page_size:
        raise ValidationException(
            f"pagination.limit must be <= {settings.max_page_size}",
            extra=[
                {
                    "key": "pagination.limit",
                    "message": f"must be <= {settings.max_page_size}",
                    "source": "body",
                }
            ],
        )
    return limit


def page_bounds(request: Request[Any, Any, Any]) -> Bounds:
    """The body check's bound known only at start: pagination.limit up to MAX_PAGE_SIZE."""
    settings: Settings = request.app.state[STATE_KEY].settings
    return {(PageRequest, "limit"): {"le": settings.max_page_size}}


def page_arguments(options: PageOptions, settings: Settings) -> tuple[int, int, tuple[Any, ...]]:
    """The page, its size, and the arguments every api.* ranking function ends with, from a
    request's page options: price_from, price_to, category, platform, page, limit, exclude,
    categories, exclude_categories, max_per_category, explain (normalised: see exclude_ids and
    Filters.category_lists)."""
    limit, page, filters = page_limit(options.pagination, settings), options.pagination.page, options.filters
    categories, exclude_categories = filters.category_lists()
    arguments = (
        price_from(filters.price_from), price_to(filters.price_to), filters.category, filters.platform, page,
        limit, exclude_ids(options.exclude), categories, exclude_categories, options.max_per_category,
        options.explain,
    )  # fmt: skip
    return page, limit, arguments


def exclude_ids(values: list[str]) -> list[str]:
    """A request's exclude list as the SQL functions take it: canonical uuids, sorted, without
    repeats (so equal requests share a cache key); a bad one is a 422 naming its index."""
    return sorted({str(parse_uuid(value, f"exclude[{index}]")) for index, value in enumerate(values)})


CENT = Decimal("0.01")


@dataclass(frozen=True)
class PriceBound:
    """A price filter: the exact decimal the SQL functions take, and the whole cents it selects as.

    Presents have prices in whole cents (numeric(12, 2) in the recs DB), so `price >= 10.001` selects
    what `price >= 10.01` does and `price <= 10.009` what `price <= 10.00` does: the cache key holds
    the cents (10, 10.0, 10.001 and 10.01 as a lower bound share one key), the call the exact value.
    """

    exact: Decimal
    in_cents: Decimal


def price_from(value: float | None) -> PriceBound | None:
    """A validated lower price bound: its exact decimal, and rounded up to whole cents for the key."""
    return None if value is None else _bound(value, ROUND_CEILING)


def price_to(value: float | None) -> PriceBound | None:
    """A validated upper price bound: its exact decimal, and rounded down to whole cents for the key."""
    return None if value is None else _bound(value, ROUND_FLOOR)


def _bound(value: float, rounding: str) -> PriceBound:
    exact = Decimal(str(value))
    return PriceBound(exact=exact, in_cents=exact.quantize(CENT, rounding=rounding))


def args_digest(values: tuple[Any, ...]) -> str:
    """A digest of the arguments a page depends on (a price bound by its cents)."""
    canonical = tuple(value.in_cents if isinstance(value, PriceBound) else value for value in values)
    return hashlib.sha256(_encoder.encode(canonical)).hexdigest()[:40]


def cache_key(kind: str, version: str, values: tuple[Any, ...]) -> str:
    """`<kind>:<data version>:<digest of the values>`; Cache adds its prefix."""
    return f"{kind}:{version}:{args_digest(values)}"


def call_arguments(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """The arguments as the api.* function takes them: price bounds exact."""
    return tuple(arg.exact if isinstance(arg, PriceBound) else arg for arg in args)


def page_body(ranked: RankedPage, page: int, limit: int, extra: dict[str, Any]) -> bytes:
    """What is cached of a response, and what answers it: the algorithm that served the page, a
    newline, then the response's JSON without the two fields that differ per request
    (computation_time_ms and cache_hit, which respond() appends)."""
    fields = {
        "items": ranked.items,
        "pagination": pagination(page, limit, ranked.total_items),
        "algorithm_used": ranked.algorithm_used,
        "fallback_level": ranked.fallback_level,
        "data_as_of": ranked.data_as_of,
        "warnings": ranked.warnings,
        "details": ranked.details,
        **extra,
    }
    return ranked.algorithm_used.encode() + b"\n" + _encoder.encode(fields)


def in_range(ranked: RankedPage, page: int, limit: int) -> bool:
    """Whether the page holds something: a page past the end of its ranking is never stored, so
    requests for pages that hold nothing cannot fill Redis."""
    return (page - 1) * limit < ranked.total_items


_JSON_BOOL = {True: b"true", False: b"false"}


class Page(NamedTuple):
    """A response body ready to send, and the algorithm that served it (for the request log and
    telemetry)."""

    body: bytes
    algorithm: str


def respond(
    clients: Clients, stored: bytes, hit: bool, started: float, *, route: str, user_id: str | None = None,
    variant: Variant | None = None,
) -> Page:  # fmt: skip
    """The response body of a page_body, cached or new, with its computation time, cache_hit, a new
    recommendation_id and the user's experiment variant appended to the stored bytes (never
    decoded), and the algorithm that served it; the page goes to the served-page recorder
    (ServedRecorder.served: a reference to the bytes, nothing copied)."""
    algorithm, _, body = stored.partition(b"\n")
    algorithm_name = algorithm.decode()
    recommendation_id = clients.online.served(route, user_id, algorithm_name, variant, body)
    elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    variant_json = b"null" if variant is None else b'"' + variant.name.encode() + b'"'  # [a-z0-9_-] only
    tail = b',"computation_time_ms":%s,"cache_hit":%s,"recommendation_id":"%s","variant":%s}' % (
        str(elapsed_ms).encode(), _JSON_BOOL[hit], recommendation_id.encode(), variant_json,
    )  # fmt: skip
    return Page(body[:-1] + tail, algorithm_name)


def page_response(page: Page, request: Request[Any, Any, Any]) -> Response[bytes]:
    """A Page as a Litestar handler answers it, its algorithm put in the request state for the
    request log."""
    request.state.algorithm = page.algorithm
    return Response(page.body, media_type=MediaType.JSON)


async def cached_page(
    clients: Clients, pool: asyncpg.Pool, function: str, args: tuple[Any, ...], version: str,
    ttl_seconds: int, *,
    page: int, limit: int, extra: Callable[[RankedPage], dict[str, Any]], into: type[RankedPage] = RankedPage,
) -> tuple[bytes, bool]:  # fmt: skip
    """The page_body of api.<function>(*args): from the cache (and True), else ranked now on pool (the
    server the data version was read on) (and False).

    The cache key is the function, the data version and the same args the call takes; the worker's
    LocalCache answers before Redis. A page that says it was ranked from another data version than
    the key's is stored under the key of its own version (in Redis only). A page past the end of the
    ranking is answered but not stored.
    """
    key = cache_key(function, version, args)
    cached = await clients.cache.get(key, version=version, ttl_seconds=ttl_seconds)
    if cached is not None:
        return cached, True
    ranked = await fetch_row(pool, into, function, *call_arguments(args))
    body = page_body(ranked, page, limit, extra(ranked))
    if in_range(ranked, page, limit):
        stored_version = version if ranked.data_version is None else str(ranked.data_version)
        if stored_version == version:
            await clients.cache.set(key, body, ttl_seconds, version=version)
        else:
            await clients.cache.set(cache_key(function, stored_version, args), body, ttl_seconds)
    return body, False


def pagination(page: int, limit: int, total_items: int) -> Pagination:
    """Where a page sits in a ranking of total_items."""
    total_pages = math.ceil(total_items / limit)
    return Pagination(
        page=page,
        limit=limit,
        total_pages=total_pages,
        total_items=total_items,
        has_next=page < total_pages,
        has_previous=page > 1,
    )
