"""Slow and hanging dependencies behind a latency proxy: Redis skipped by its breaker while it hangs,
and a bounded number of connections to it."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import msgspec
import psycopg
import pytest
import redis.asyncio
from litestar.testing import AsyncTestClient
from redis.exceptions import RedisError

from service.app import create_app
from service.cache import KEY_PREFIX, Cache, create_redis
from service.routes.profiles import profile_cache_key
from service.settings import Settings
from tests.conftest import AUTH, PG_PORT, RedisServer, running_server, serving_settings, start_experiment
from tests.data import World, a_user_among_fans
from tests.latency_proxy import LatencyProxy, latency_proxy

POPULAR = {"user_params": {"gender": "f", "age_group": "25-34"}}


@pytest.fixture
def redis_proxy(redis_server: RedisServer, redis_url: str) -> Iterator[LatencyProxy]:
    """The session Redis (flushed) behind a latency proxy."""
    with latency_proxy(redis_server.port) as proxy:
        yield proxy


def through(proxy: LatencyProxy, settings: Settings, **overrides: object) -> Settings:
    """The settings with Redis reached through the proxy."""
    url = f"redis://127.0.0.1:{proxy.port}/0"
    return msgspec.structs.replace(settings, recommendations_redis_url=url, **overrides)


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog, kept on the root logger after create_app replaced its handlers."""
    yield caplog
    logging.getLogger().removeHandler(caplog.handler)


async def app_client(settings: Settings, caplog: pytest.LogCaptureFixture) -> AsyncIterator[AsyncTestClient]:
    app = create_app(settings)
    logging.getLogger().addHandler(caplog.handler)
    async with AsyncTestClient(app=app) as client:
        yield client


async def test_a_hanging_redis_is_skipped_by_the_breaker_until_it_answers_again(
    settings: Settings,
    shoppers: tuple[uuid.UUID, list[uuid.UUID]],
    redis_proxy: LatencyProxy,
    logged: pytest.LogCaptureFixture,
) -> None:
    user = str(shoppers[0])
    # The breaker's period is long enough for the requests below on a slow machine; the stats are
    # not flushed through the same client meanwhile.
    own = through(redis_proxy, settings, redis_breaker_open_ms=3000, stats_flush_ms=60_000)
    async for client in app_client(own, logged):
        await client.post("/popular", json=POPULAR, auth=AUTH)
        assert (await client.post("/popular", json=POPULAR, auth=AUTH)).json()["cache_hit"] is True
        redis_proxy.hang = True
        with logged.at_level(logging.INFO):
            first = await client.post("/popular", json=POPULAR, auth=AUTH)  # times out: the breaker opens
            assert first.status_code == 200 and first.json()["cache_hit"] is False
            asked = redis_proxy.sent
            for _ in range(3):
                for path, body in (("/popular", POPULAR), ("/personalized", {"user_id": user})):
                    response = await client.post(path, json=body, auth=AUTH)
                    assert response.status_code == 200, response.text
                    assert response.json()["cache_hit"] is False and response.json()["items"]
            assert redis_proxy.sent == asked  # served from the database without asking Redis
            health = await client.get("/health")  # the health check still asks
            assert health.status_code == 200 and health.json()["checks"]["redis"]["status"] == "down"
            assert redis_proxy.sent > asked
            redis_proxy.hang = False
            await asyncio.sleep(3.1)  # the breaker's time is up: the next call probes Redis
            await client.post("/popular", json=POPULAR, auth=AUTH)
            assert (await client.post("/popular", json=POPULAR, auth=AUTH)).json()["cache_hit"] is True
        events = [record.getMessage() for record in logged.records]
        assert events.count("cache.unavailable") == 1 and events.count("cache.recovered") == 1


async def test_a_hanging_redis_costs_a_profile_read_one_timeout_not_one_per_request(
    settings: Settings, redis_proxy: LatencyProxy, logged: pytest.LogCaptureFixture
) -> None:
    """GET /user-profile refills the profile's Redis copy on a miss: a fill a read can do without,
    skipped while the breaker is open (each GET waited 250 ms for a Redis that hangs)."""
    user = str(uuid.uuid4())
    own = through(redis_proxy, settings, redis_breaker_open_ms=5000, stats_flush_ms=60_000)
    async for client in app_client(own, logged):
        put = await client.put(f"/user-profile/{user}", json={"gender": "f", "locale": "en"}, auth=AUTH)
        assert put.status_code == 200, put.text
        redis_proxy.hang = True
        first = await client.get(f"/user-profile/{user}", auth=AUTH)  # times out: the breaker opens
        assert first.status_code == 200 and first.json()["demographics"]["gender"] == "f"
        asked = redis_proxy.sent
        started = time.monotonic()
        for _ in range(4):
            response = await client.get(f"/user-profile/{user}", auth=AUTH)
            assert response.status_code == 200 and response.json()["demographics"]["gender"] == "f"
        assert redis_proxy.sent == asked  # answered from the database without asking Redis
        assert time.monotonic() - started < 4 * 0.25  # no Redis timeout paid per request
        redis_proxy.hang = False


async def test_an_answer_to_a_call_begun_before_the_breaker_opened_does_not_close_it(
    redis_proxy: LatencyProxy,
) -> None:
    redis_proxy.delay_s = 0.15  # answers within the client's timeout
    client = redis.asyncio.Redis.from_url(f"redis://127.0.0.1:{redis_proxy.port}/0")
    cache = Cache(client, breaker_open_ms=60_000)
    try:
        slow = asyncio.ensure_future(cache.get("probe"))
        await asyncio.sleep(0.05)
        cache._failed(RedisError("another call timed out"), time.monotonic())  # the breaker opens meanwhile
        assert await slow is None  # answered (a miss), but begun before the breaker opened
        asked = redis_proxy.sent
        await cache.set("probe", b"value", 60)
        assert await cache.get("probe") is None and redis_proxy.sent == asked  # still skipped
        await cache.set_unless_newer("copy", b'{"order": 1}', 1, 60)  # a profile's copy after a write
        assert await client.get("v9:copy") == b'{"order": 1}'  # is stored all the same
        asked = redis_proxy.sent
        assert await cache.ping() and await cache.get("probe") is None  # a ping begun since closes it
        await cache.set("probe", b"value", 60)
        assert await cache.get("probe") == b"value" and redis_proxy.sent > asked
    finally:
        await client.delete("v9:probe", "v9:copy")
        await client.aclose()


async def test_a_slow_redis_gets_at_most_the_pools_connections_per_worker(
    settings: Settings, shoppers: tuple[uuid.UUID, list[uuid.UUID]], redis_proxy: LatencyProxy
) -> None:
    redis_proxy.delay_s = 0.1
    own = through(
        redis_proxy, settings, redis_pool_max_size=3, redis_breaker_open_ms=0,
        db_pool_max_size=10, db_pool_acquire_timeout_ms=10_000,
    )  # fmt: skip
    user = str(shoppers[0])
    with running_server(own) as (base_url, _):
        async with httpx.AsyncClient(base_url=base_url, auth=AUTH, timeout=30) as client:
            bodies = [("/popular", POPULAR), ("/personalized", {"user_id": user})] * 10
            responses = await asyncio.gather(*(client.post(path, json=body) for path, body in bodies))
    assert {response.status_code for response in responses} == {200}
    assert 1 <= redis_proxy.peak <= 3, redis_proxy.peak


@pytest.fixture
def main_proxy(databases: tuple[psycopg.Connection, ...]) -> Iterator[LatencyProxy]:
    """Main reached by the FDW through a latency proxy (a Rails database on a distant server)."""
    _, recs = databases
    with latency_proxy(PG_PORT) as proxy:
        recs.execute(f"ALTER SERVER main_db OPTIONS (SET port '{proxy.port}')")
        yield proxy


async def test_a_read_of_main_given_up_on_is_cancelled_and_keeps_the_connection_to_main_warm(
    settings: Settings, shoppers: tuple[uuid.UUID, list[uuid.UUID]], main_proxy: LatencyProxy
) -> None:
    # Main 50 ms away: a read on a warm FDW connection takes about 7 round trips (0.35 s), one that
    # first connects to main about 27 (1.35 s), more than the 1 s time limit: only a connection kept
    # warm can read main at that distance.
    own = msgspec.structs.replace(
        settings, main_read_timeout_ms=1000, main_breaker_open_s=1,
        db_pool_min_size=1, db_pool_max_size=1, db_pool_acquire_timeout_ms=10_000,
    )  # fmt: skip
    user = str(shoppers[0])
    with running_server(own) as (base_url, _):
        async with httpx.AsyncClient(base_url=base_url, auth=AUTH, timeout=30) as client:
            page = (await client.post("/personalized", json={"user_id": user})).json()
            assert page["degraded"] is False  # main near: connected and read
            connections = main_proxy.connections
            main_proxy.delay_s = 0.2  # main slows down: 1.4 s a read
            page = (await client.post("/personalized", json={"user_id": user})).json()
            assert page["degraded"] is True  # given up on after 1 s: the breaker opens
            main_proxy.delay_s = 0.05
            await asyncio.sleep(2)  # the cancelled read has ended, and the breaker's time is up
            page = (await client.post("/personalized", json={"user_id": user})).json()
            assert page["degraded"] is False and page["items"]  # read on the same, still warm, connection
            assert main_proxy.connections <= connections + 1  # + the cancel request's own, if any


async def test_every_redis_connection_busy_skips_the_call_but_does_not_open_the_breaker(
    settings: Settings, redis_proxy: LatencyProxy
) -> None:
    redis_proxy.delay_s = 0.2  # each call holds the one connection 0.2 s; a third waits past 250 ms
    client = create_redis(through(redis_proxy, settings, redis_pool_max_size=1))
    cache = Cache(client, breaker_open_ms=60_000)
    try:
        assert await asyncio.gather(cache.get("a"), cache.get("b"), cache.get("c")) == [None] * 3
        asked = redis_proxy.sent
        assert await cache.get("d") is None and redis_proxy.sent == asked + 1  # Redis still asked
        assert redis_proxy.peak == 1
    finally:
        await client.aclose()


async def test_a_variants_read_of_a_main_that_stopped_answering_is_given_up_on_within_the_time_limit(
    databases: tuple[psycopg.Connection, ...], settings: Settings, main_proxy: LatencyProxy
) -> None:
    """A page of an experiment variant, missed under a stored state with unsynced events, reads main
    while ranking, in the transaction that carries the variant's overrides: given up on at the time
    limit, its transaction rolled back, it answers degraded though main never answers again."""
    main, recs = databases
    world = World(main, recs)
    user, presents = a_user_among_fans(world, 8)
    start_experiment(recs, "depth", {"deeper": (1, {"max_similar_users": "30"})})
    world.like(user, presents[1])  # unsynced: a miss under the user's state reads main again
    own = serving_settings(
        settings, main_read_timeout_ms=1000, main_breaker_open_s=30, personalized_state_max_age_ms=60_000
    )
    with running_server(own) as (base_url, _):
        async with httpx.AsyncClient(base_url=base_url, auth=AUTH, timeout=30) as client:
            first = (await client.post("/personalized", json={"user_id": str(user)})).json()
            assert first["degraded"] is False and first["variant"] is not None
            main_proxy.hang = True
            started = time.monotonic()
            response = await client.post(
                "/personalized", json={"user_id": str(user), "pagination": {"limit": 3}}
            )
            elapsed = time.monotonic() - started
            main_proxy.hang = False
    assert response.status_code == 200, response.text
    assert response.json()["degraded"] is True
    assert elapsed < 4, elapsed  # the 1 s limit, not the statement timeout (5 s)


async def test_a_pool_facing_a_distant_recs_db_keeps_its_connections_open(
    settings: Settings, shoppers: tuple[uuid.UUID, list[uuid.UUID]]
) -> None:
    # The recs DB 250 ms away: opening a connection takes over a second, more than the 500 ms a
    # request waits for one, so a pool that opened them on demand never grew (with a minimum of 1,
    # 12 of these 16 requests answered 503 and every connection opened was given up on).
    with latency_proxy(PG_PORT, 0.25) as proxy:
        url = settings.recommendations_database_url.replace(f":{PG_PORT}/", f":{proxy.port}/")
        own = msgspec.structs.replace(
            settings, recommendations_database_url=url, db_pool_min_size=None, db_pool_max_size=4,
            db_pool_acquire_timeout_ms=500,
        )  # fmt: skip
        with running_server(own) as (base_url, _):
            async with httpx.AsyncClient(base_url=base_url, auth=AUTH, timeout=30) as client:
                statuses = []
                for round_ in range(4):  # 4 uncached pages at once: a connection each
                    prices = range(1000 + 10 * round_, 1004 + 10 * round_)
                    bodies = [{"user_params": {}, "filters": {"price_to": price}} for price in prices]
                    responses = await asyncio.gather(*(client.post("/popular", json=body) for body in bodies))
                    statuses += [response.status_code for response in responses]
    assert statuses == [200] * 16


async def test_a_profile_written_while_redis_paused_is_not_served_from_its_old_copy_afterwards(
    client: AsyncTestClient, redis_server: RedisServer
) -> None:
    user = str(uuid.uuid4())
    assert (await client.put(f"/user-profile/{user}", json={"gender": "male"}, auth=AUTH)).status_code == 200
    assert (await client.get(f"/user-profile/{user}", auth=AUTH)).json()["demographics"]["gender"] == "m"
    redis_server.client().client_pause(2000)  # Redis takes no command for 2 s, then all of them
    written = await client.put(f"/user-profile/{user}", json={"gender": "female"}, auth=AUTH)
    assert written.status_code == 200 and written.json()["demographics"]["gender"] == "f"
    key = KEY_PREFIX + profile_cache_key(user)
    for _ in range(100):  # Redis answers again after 2 s: the copy the write could not replace goes
        await asyncio.sleep(0.1)
        if b'"gender":"m"' not in (redis_server.client().get(key) or b""):
            break
    assert b'"gender":"m"' not in (redis_server.client().get(key) or b"")
    assert (await client.get(f"/user-profile/{user}", auth=AUTH)).json()["demographics"]["gender"] == "f"


async def test_a_redis_refusing_writes_is_not_skipped_for_reads(caplog: pytest.LogCaptureFixture) -> None:
    server = RedisServer(maxmemory="2mb", policy="noeviction")
    server.start()
    client = redis.asyncio.Redis.from_url(server.url)
    cache = Cache(client, breaker_open_ms=60_000)
    try:
        await cache.set("kept", b"value", 600)
        filler = server.client()
        for index in range(10_000):  # until Redis is full and refuses every write
            try:
                filler.set(f"filler:{index}", b"x" * 4096)
            except redis.exceptions.OutOfMemoryError:
                break
        else:
            pytest.fail("Redis never filled up")
        with caplog.at_level(logging.INFO):
            for _ in range(3):
                await cache.set("refused", b"value", 600)  # refused: out of memory
                assert await cache.get("kept") == b"value"  # read, not skipped by a breaker
        events = [record.getMessage() for record in caplog.records]
        assert events.count("cache.refused") == 1 and "cache.unavailable" not in events
    finally:
        await client.aclose()
        server.stop()


async def test_an_error_reply_to_the_breakers_probe_closes_it(caplog: pytest.LogCaptureFixture) -> None:
    server = RedisServer()
    server.start()
    client = redis.asyncio.Redis.from_url(server.url)
    cache = Cache(client, breaker_open_ms=200)
    try:
        await cache.set("kept", b"value", 600)
        server.client().replicaof("127.0.0.1", "1")  # a read-only replica now: every write refused
        with caplog.at_level(logging.INFO):
            cache._failed(RedisError("a call timed out"), time.monotonic())  # the breaker opens
            assert await cache.get("kept") is None  # skipped
            await asyncio.sleep(0.25)
            await cache.set("refused", b"value", 600)  # the probe: refused (READONLY), an answer
            assert await cache.get("kept") == b"value"  # the breaker closed: read at once
        events = [record.getMessage() for record in caplog.records]
        assert events.count("cache.refused") == 1
        assert events.count("cache.unavailable") == 1 and events.count("cache.recovered") == 1
    finally:
        await client.aclose()
        server.stop()
