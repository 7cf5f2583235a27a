"""GET /facets: the categories, platforms and price quantiles of the available presents, for filter UIs."""

from __future__ import annotations

import msgspec
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.enums import MediaType

from service.clients import Clients
from service.db import fetch_row
from service.models import Facets
from service.replicas import ReadTarget


class FacetsRow(Facets, kw_only=True):
    """api.facets' row: the response and the popular data version it was read at."""

    data_version: int


_encoder = msgspec.json.Encoder()


@get(
    "/facets",
    tags=["recommendations"],
    summary="Categories, platforms and prices the filters can take",
    operation_id="getFacets",
    description=(
        "The categories and platforms of the available public presents, spelled as the catalogue "
        "has them (filters match them case-insensitively), with how many presents each has, most "
        "first; and the quantiles of their prices. Changes with each popularity refresh; cached "
        "until then."
    ),
)
async def facets(clients: NamedDependency[Clients]) -> Response[bytes]:
    """api.facets from the cache (per popular data version) or the database."""

    async def on(target: ReadTarget) -> bytes:
        version = str(await target.versions.get(target.pool, "popular"))
        ttl = clients.settings.cache_ttl_popular
        key = f"facets:{version}"
        body = await clients.cache.get(key, version=version, ttl_seconds=ttl)
        if body is None:
            row = await fetch_row(target.pool, FacetsRow, "facets")
            body = _encoder.encode(Facets(**{name: getattr(row, name) for name in Facets.__struct_fields__}))
            stored_key = key if str(row.data_version) == version else f"facets:{row.data_version}"
            await clients.cache.set(stored_key, body, ttl, version=version if stored_key == key else None)
        return body

    return Response(await clients.router.run(on), media_type=MediaType.JSON)
