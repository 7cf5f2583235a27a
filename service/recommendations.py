"""The cached path every recommendation route shares: data version, cache key, SQL call, page."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar.exceptions import ValidationException

from service.cache import Cache
from service.models import PageRequest, Pagination, RecommendationResponse
from service.settings import Settings


class RankedPage(msgspec.Struct, kw_only=True):
    """What an api.* ranking function returned for one page (the cached value)."""

    items: list[str]
    total_items: int
    algorithm_used: str
    fallback_level: str | None = None
    levels_used: list[str] = msgspec.field(default_factory=list)
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


def cache_key(kind: str, version: int, params: tuple[Any, ...]) -> str:
    """`<kind>:<data version>:<digest of the normalised request>`; Cache adds the `v3:` prefix."""
    digest = hashlib.sha256(_encoder.encode(params)).hexdigest()[:40]
    return f"{kind}:{version}:{digest}"


async def serve_cached(
    cache: Cache,
    key: str,
    ttl_seconds: int,
    page: int,
    limit: int,
    rank: Callable[[], Awaitable[RankedPage]],
) -> RecommendationResponse:
    """The cached page under key, else rank() and cache it; a Redis outage is only a miss."""
    started = time.perf_counter()
    cached = await cache.get(key)
    ranked = _decoder.decode(cached) if cached is not None else None
    if ranked is None:
        ranked = await rank()
        await cache.set(key, _encoder.encode(ranked), ttl_seconds)
    total_pages = math.ceil(ranked.total_items / limit)
    return RecommendationResponse(
        items=ranked.items,
        pagination=Pagination(
            page=page,
            limit=limit,
            total_pages=total_pages,
            total_items=ranked.total_items,
            has_next=page < total_pages,
            has_previous=page > 1,
        ),
        computation_time_ms=round((time.perf_counter() - started) * 1000, 2),
        algorithm_used=ranked.algorithm_used,
        cache_hit=cached is not None,
        fallback_level=ranked.fallback_level,
        levels_used=ranked.levels_used,
        data_as_of=ranked.data_as_of.isoformat() if ranked.data_as_of else None,
    )
