"""The cached path every recommendation route shares: one argument list gives both the api.* call and
the cache key; a miss calls the function and stores the page unless it lies past the end of the
ranking; the page becomes the response."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException

from service.clients import STATE_KEY, Clients
from service.db import fetch_row
from service.models import Level, PageRequest, Pagination, Tier
from service.settings import Settings
from service.validation import Bounds


class RankedPage(msgspec.Struct, kw_only=True):
    """One page as an api.* ranking function returned it (its result columns by name); the cached value."""

    items: list[str]
    total_items: int
    fallback_level: Level | None = None
    levels_used: list[Level] = msgspec.field(default_factory=list)  # api.popular
    data_version: int | None = None  # api.popular: the popularity version the page was ranked from
    algorithm_used: Tier = "popular"  # api.personalized names the tier; api.popular ranks by popularity
    tiers_used: list[Tier] = msgspec.field(default_factory=list)  # api.personalized
    interactions: int = 0  # api.personalized
    fresh_checked: bool = True  # api.personalized: false when main could not be read
    data_as_of: dt.datetime | None = None


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(RankedPage)


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


def cache_key(kind: str, version: str, values: tuple[Any, ...]) -> str:
    """`<kind>:<data version>:<digest of the values>` (a price bound by its cents); Cache adds its prefix."""
    canonical = tuple(value.in_cents if isinstance(value, PriceBound) else value for value in values)
    digest = hashlib.sha256(_encoder.encode(canonical)).hexdigest()[:40]
    return f"{kind}:{version}:{digest}"


async def cached_page(
    clients: Clients, function: str, args: tuple[Any, ...], version: str, ttl_seconds: int, *,
    page: int, limit: int, key_context: tuple[Any, ...] = (),
    rank: Callable[[tuple[Any, ...]], Awaitable[tuple[RankedPage, bool]]] | None = None,
) -> tuple[RankedPage, bool]:  # fmt: skip
    """The page of api.<function>(*args): from the cache (and True), else ranked now (and False).

    The cache key is the function, the data version and the same args the call takes (plus
    key_context: what else the page depends on). A page that says it was ranked from another data
    version than the key's is stored under the key of its own version. A page past the end of the
    ranking (its first item would be at or beyond total_items: empty) is answered but not stored, so
    requests for pages that hold nothing cannot fill Redis. rank, when given, makes the call (from
    the exact arguments) instead of a plain api.<function> call, and says whether its page may be
    stored under the key.
    """
    key = cache_key(function, version, args + key_context)
    cached = await clients.cache.get(key)
    if cached is not None:
        return _decoder.decode(cached), True
    call_args = tuple(arg.exact if isinstance(arg, PriceBound) else arg for arg in args)
    if rank is not None:
        page_data, storable = await rank(call_args)
    else:
        page_data, storable = await fetch_row(clients.pool, RankedPage, function, *call_args), True
    if not storable or (page - 1) * limit >= page_data.total_items:
        return page_data, False
    if page_data.data_version is not None and str(page_data.data_version) != version:
        key = cache_key(function, str(page_data.data_version), args + key_context)
    await clients.cache.set(key, _encoder.encode(page_data), ttl_seconds)
    return page_data, False


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


def response_fields(ranked: RankedPage, hit: bool, page: int, limit: int, started: float) -> dict[str, Any]:
    """The fields every recommendation response shares, from a ranked page."""
    return {
        "items": ranked.items,
        "pagination": pagination(page, limit, ranked.total_items),
        "computation_time_ms": round((time.perf_counter() - started) * 1000, 2),
        "algorithm_used": ranked.algorithm_used,
        "cache_hit": hit,
        "fallback_level": ranked.fallback_level,
        "data_as_of": ranked.data_as_of,
    }
