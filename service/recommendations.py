"""The cached path every recommendation route shares: cache key, SQL call on a miss, pagination."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import msgspec
from litestar.exceptions import ValidationException

from service.cache import Cache
from service.models import PageRequest, Pagination
from service.settings import Settings


class RankedPage(msgspec.Struct, kw_only=True):
    """What an api.* ranking function returned for one page (the cached value)."""

    items: list[str]
    total_items: int
    algorithm_used: str
    fallback_level: str | None = None
    levels_used: list[str] = msgspec.field(default_factory=list)
    tiers_used: list[str] = msgspec.field(default_factory=list)
    interactions: int = 0
    degraded: bool = False
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


def price(value: float | None) -> Decimal | None:
    """A validated price as the exact decimal the SQL functions take."""
    return None if value is None else Decimal(str(value))


def cache_key(kind: str, version: str, params: tuple[Any, ...]) -> str:
    """`<kind>:<data version>:<digest of the normalised request>`; Cache adds the `v3:` prefix."""
    digest = hashlib.sha256(_encoder.encode(params)).hexdigest()[:40]
    return f"{kind}:{version}:{digest}"


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


async def cached_page(
    cache: Cache, key: str, ttl_seconds: int, rank: Callable[[], Awaitable[RankedPage]]
) -> tuple[RankedPage, bool]:
    """The page cached under key (and True), else rank() stored under key (and False)."""
    cached = await cache.get(key)
    if cached is not None:
        return _decoder.decode(cached), True
    ranked = await rank()
    await cache.set(key, _encoder.encode(ranked), ttl_seconds)
    return ranked, False


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
