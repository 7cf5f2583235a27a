"""What bounds Redis: pages past the end are not stored, prices equal to the cent share a key, a
full Redis evicts cache entries but keeps the /stats counters, and an unbounded one is reported."""

from __future__ import annotations

import logging
import uuid

import msgspec
import psycopg
import pytest
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.cache import EVICTION_POLICY, KEY_PREFIX
from service.settings import Settings
from service.telemetry import Telemetry
from tests.conftest import ADMIN_AUTH, AUTH, RedisServer
from tests.data import World


@pytest.fixture
def catalogue(world: World) -> list[uuid.UUID]:
    """12 public presents priced 10, 11, ... 21, the cheapest most liked."""
    presents = [world.present(price=10 + index) for index in range(12)]
    fans = world.users(30, "f", "25-34")
    for index, present in enumerate(presents):
        for fan in fans[: 30 - 2 * index]:
            world.like(fan, present)
    world.refresh_all()
    return presents


def _cached_pages(redis_server: RedisServer, kind: str) -> int:
    return len(redis_server.client().keys(f"{KEY_PREFIX}{kind}:*"))


async def test_pages_past_the_end_are_answered_but_not_stored(
    client: AsyncTestClient, catalogue: list[uuid.UUID], redis_server: RedisServer
) -> None:
    last = {"pagination": {"page": 3, "limit": 5}}  # items 11 and 12 of 12: stored
    assert (await client.post("/popular", json=last, auth=AUTH)).json()["cache_hit"] is False
    assert (await client.post("/popular", json=last, auth=AUTH)).json()["cache_hit"] is True
    assert _cached_pages(redis_server, "popular") == 1
    past_the_end = [
        {"pagination": {"page": 4, "limit": 5}},
        {"pagination": {"page": 1_000_000, "limit": 1}},
        {"filters": {"category": "unicorns"}},  # a ranking of 0 presents: page 1 is past its end
    ]
    for body in past_the_end:
        for _ in range(2):
            response = await client.post("/popular", json=body, auth=AUTH)
            assert response.status_code == 200 and response.json()["items"] == []
            assert response.json()["cache_hit"] is False
    assert _cached_pages(redis_server, "popular") == 1

    user = str(uuid.uuid4())
    beyond = {"user_id": user, "pagination": {"page": 50, "limit": 5}}
    for _ in range(2):
        response = (await client.post("/personalized", json=beyond, auth=AUTH)).json()
        assert response["items"] == [] and response["cache_hit"] is False
    assert _cached_pages(redis_server, "personalized") == 0
    first = {"user_id": user, "pagination": {"page": 1, "limit": 5}}
    await client.post("/personalized", json=first, auth=AUTH)
    assert (await client.post("/personalized", json=first, auth=AUTH)).json()["cache_hit"] is True


async def test_prices_equal_to_the_cent_share_a_key_and_the_sql_gets_the_exact_price(
    client: AsyncTestClient, catalogue: list[uuid.UUID], redis_server: RedisServer
) -> None:
    def body(**filters: object) -> dict[str, object]:
        return {"filters": filters, "pagination": {"limit": 20}}

    first = (await client.post("/popular", json=body(price_to=12), auth=AUTH)).json()
    assert first["cache_hit"] is False and first["items"] == [str(p) for p in catalogue[:3]]
    for same in (b"12.0", b"12.00", b"1.2e1", b"12.009"):
        raw = b'{"filters": {"price_to": ' + same + b'}, "pagination": {"limit": 20}}'
        response = await client.post(
            "/popular", content=raw, headers={"content-type": "application/json"}, auth=AUTH
        )
        assert response.json()["cache_hit"] is True and response.json()["items"] == first["items"], same
    assert _cached_pages(redis_server, "popular") == 1

    # A lower bound rounds up: 10.001 leaves out the present priced 10, as 10.01 does.
    above_ten = (await client.post("/popular", json=body(price_from=10.001), auth=AUTH)).json()
    assert above_ten["cache_hit"] is False and above_ten["items"] == [str(p) for p in catalogue[1:]]
    assert (await client.post("/popular", json=body(price_from=10.01), auth=AUTH)).json()["cache_hit"] is True
    # Between two cents: valid and empty, because the SQL gets 10.001 and 10.009 themselves (as
    # whole cents, 10.01 > 10.00, the SQL would refuse the range).
    between = await client.post("/popular", json=body(price_from=10.001, price_to=10.009), auth=AUTH)
    assert between.status_code == 200 and between.json()["items"] == []
    personal = await client.post(
        "/personalized",
        json={"user_id": str(uuid.uuid4()), **body(price_from=10.001, price_to=10.009)},
        auth=AUTH,
    )
    assert personal.status_code == 200 and personal.json()["items"] == []


def test_every_price_the_filters_compare_is_in_whole_cents(databases: tuple[psycopg.Connection, ...]) -> None:
    """The cache key rounds price filters to cents: sound only while every stored price has two decimals."""
    _, recs = databases
    columns = recs.execute(
        "SELECT c.relname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'recs' AND a.attname = 'price' AND a.attnum > 0 AND NOT a.attisdropped "
        "AND c.relkind IN ('r', 'm', 'p')"
    ).fetchall()
    assert {"items", "popular_items"} <= {relation for relation, _ in columns}
    assert {kind for _, kind in columns} == {"numeric(12,2)"}, columns


async def test_a_full_redis_evicts_cache_entries_and_keeps_the_stats(
    settings: Settings, catalogue: list[uuid.UUID]
) -> None:
    server = RedisServer(maxmemory="4mb")
    server.start()
    try:
        bounded = msgspec.structs.replace(settings, recommendations_redis_url=server.url)
        async with AsyncTestClient(app=create_app(bounded)) as client:
            for page in (1, 2, 3):
                await client.post("/popular", json={"pagination": {"page": page, "limit": 4}}, auth=AUTH)
            counted = (await client.get("/stats", auth=ADMIN_AUTH)).json()  # flushes the counts to Redis
            stats_keys = set(server.client().keys(f"{Telemetry.KEY_PREFIX}*"))
            assert stats_keys and all(server.client().ttl(key) == -1 for key in stats_keys)  # no TTL

            # 12 MB of cache entries (each with a TTL, as the service writes them) into 4 MB.
            filler = server.client()
            for index in range(600):
                filler.set(f"{KEY_PREFIX}popular:0:filler-{index}", b"x" * 20_000, ex=3600)
            memory = filler.info("memory")
            assert filler.info("stats")["evicted_keys"] > 0
            assert memory["used_memory"] <= memory["maxmemory"] + 1_000_000

            assert set(filler.keys(f"{Telemetry.KEY_PREFIX}*")) == stats_keys
            body = {"pagination": {"page": 1, "limit": 4}}
            assert (await client.post("/popular", json=body, auth=AUTH)).status_code == 200
            assert (await client.post("/popular", json=body, auth=AUTH)).json()["cache_hit"] is True
            after = (await client.get("/stats", auth=ADMIN_AUTH)).json()
            assert after["cache"]["hits"] > counted["cache"]["hits"]
            assert after["counting_since"] == counted["counting_since"]  # the counters were kept
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("maxmemory", "policy", "warned"),
    [("0", EVICTION_POLICY, True), ("64mb", "noeviction", True), ("64mb", EVICTION_POLICY, False)],
)
async def test_an_unbounded_redis_is_reported_at_start(
    settings: Settings, caplog: pytest.LogCaptureFixture, maxmemory: str, policy: str, warned: bool
) -> None:
    server = RedisServer(maxmemory=maxmemory, policy=policy)
    server.start()
    try:
        app = create_app(msgspec.structs.replace(settings, recommendations_redis_url=server.url))
        logging.getLogger().addHandler(caplog.handler)  # create_app replaced the root handlers
        with caplog.at_level(logging.WARNING):
            async with AsyncTestClient(app=app):
                pass
        reports = [record for record in caplog.records if record.getMessage() == "cache.unbounded"]
        assert len(reports) == (1 if warned else 0)
        if warned:
            assert reports[0].__dict__["maxmemory_policy"] == policy
    finally:
        logging.getLogger().removeHandler(caplog.handler)
        server.stop()
