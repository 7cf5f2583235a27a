"""The cache-hit path with its defaults: personalised states kept in Redis for a short, bounded time,
read again ahead of expiry and tombstoned by writes, stored response bytes, the per-worker cache,
batched telemetry and the request log summary."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
import uuid

import msgspec
import psycopg
import pytest
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY
from psycopg import sql

from service.app import create_app
from service.cache import (
    KEY_PREFIX,
    PERSONALIZED_STORE_STATE,
    TOMBSTONE,
    LocalCache,
    personalized_state_key,
)
from service.clients import STATE_KEY, Clients
from service.logs import RequestSummary
from service.main_reads import SingleFlight
from service.models import PersonalizedResponse, PopularResponse
from service.settings import Settings
from service.telemetry import LATENCY_BUCKETS_S, Telemetry
from service.user_pages import CacheState, is_quiet
from tests.conftest import AUTH, STATE_MAX_AGE_MS, RedisServer, app_connect, serving_settings
from tests.data import NOW, World

POPULAR = {"user_params": {"gender": "f", "age_group": "25-34"}, "pagination": {"limit": 5}}


def clients_of(client: AsyncTestClient) -> Clients:
    found: Clients = client.app.state[STATE_KEY]
    return found


def stored_part(body: bytes) -> bytes:
    """A response without the two fields each request appends."""
    return body.split(b',"computation_time_ms":', 1)[0]


def database_page(user: uuid.UUID, limit: int = 5) -> list[str]:
    with app_connect() as app:
        row = app.execute(
            "SELECT items FROM api.personalized(%s, NULL, NULL, NULL, NULL, NULL, 1, %s, '{}',"
            " p_read_main => true)",
            (user, limit),
        ).fetchone()
    assert row is not None
    return [str(item) for item in row[0]]


async def test_a_popular_hit_answers_with_the_bytes_of_the_miss(
    serving: AsyncTestClient, shoppers: tuple[uuid.UUID, list[uuid.UUID]]
) -> None:
    miss = await serving.post("/popular", json=POPULAR, auth=AUTH)
    hit = await serving.post("/popular", json=POPULAR, auth=AUTH)
    assert miss.status_code == hit.status_code == 200
    assert miss.headers["content-type"] == "application/json"
    assert miss.json()["cache_hit"] is False and hit.json()["cache_hit"] is True
    assert stored_part(hit.content) == stored_part(miss.content)
    for response in (miss, hit):  # every field of the documented response, and only those
        decoded = msgspec.json.decode(response.content, type=PopularResponse, strict=True)
        assert msgspec.json.decode(msgspec.json.encode(decoded)) == response.json()
    assert miss.json()["items"] and miss.json()["pagination"]["limit"] == 5


async def test_a_personalized_hit_answers_with_the_bytes_of_the_miss(
    serving: AsyncTestClient, shoppers: tuple[uuid.UUID, list[uuid.UUID]]
) -> None:
    user, _ = shoppers
    body = {"user_id": str(user), "pagination": {"limit": 4}}
    miss = await serving.post("/personalized", json=body, auth=AUTH)
    hit = await serving.post("/personalized", json=body, auth=AUTH)
    assert miss.json()["cache_hit"] is False and hit.json()["cache_hit"] is True
    assert stored_part(hit.content) == stored_part(miss.content)
    decoded = msgspec.json.decode(hit.content, type=PersonalizedResponse, strict=True)
    assert decoded.algorithm_used == "collaborative" and decoded.degraded is False
    assert decoded.items == database_page(user, 4)


async def test_a_fresh_like_is_hidden_once_the_state_is_older_than_its_max_age(
    serving: AsyncTestClient, world: World, shoppers: tuple[uuid.UUID, list[uuid.UUID]]
) -> None:
    user, presents = shoppers
    body = {"user_id": str(user), "pagination": {"limit": 6}}
    first = (await serving.post("/personalized", json=body, auth=AUTH)).json()
    liked = first["items"][0]
    assert liked in {str(present) for present in presents[3:]}
    world.like(user, uuid.UUID(liked))  # in main only: no sync ran
    started = time.monotonic()
    within = (await serving.post("/personalized", json=body, auth=AUTH)).json()
    if time.monotonic() - started < STATE_MAX_AGE_MS / 1000 / 2:
        # The stored state is still trusted: the cached page, no read of main.
        assert within["cache_hit"] is True and within["items"] == first["items"]
    await asyncio.sleep(STATE_MAX_AGE_MS / 1000 + 0.05)
    after = (await serving.post("/personalized", json=body, auth=AUTH)).json()
    assert liked not in after["items"] and after["cache_hit"] is False
    assert after["items"] == database_page(user, 6) and after["interactions"] == 4
    again = (await serving.post("/personalized", json=body, auth=AUTH)).json()
    assert again["cache_hit"] is True and again["items"] == after["items"]


async def test_a_like_stamped_before_the_newest_unsynced_event_is_hidden_after_an_unlike(
    serving: AsyncTestClient, world: World, shoppers: tuple[uuid.UUID, list[uuid.UUID]]
) -> None:
    """The state's fingerprint of the unsynced events must change with any of them, not only with
    their count and newest time: an unlike and a like whose created_at is older than the newest
    unsynced event (a Rails server whose clock is behind, a transaction that committed late) keep
    both, and the page stored before would be served with the present just liked."""
    user, presents = shoppers
    body = {"user_id": str(user), "pagination": {"limit": 6}}
    world.like(user, presents[3], NOW + dt.timedelta(seconds=1))
    world.like(user, presents[4], NOW + dt.timedelta(seconds=2))  # the newest: in main only
    first = (await serving.post("/personalized", json=body, auth=AUTH)).json()
    assert str(presents[5]) in first["items"] and str(presents[3]) not in first["items"]
    world.main.execute(
        "DELETE FROM handpicked_likes WHERE user_id = %s AND handpicked_present_id = %s", (user, presents[3])
    )
    world.like(user, presents[5], NOW + dt.timedelta(milliseconds=1500))
    await asyncio.sleep(STATE_MAX_AGE_MS / 1000 + 0.05)
    after = (await serving.post("/personalized", json=body, auth=AUTH)).json()
    assert str(presents[5]) not in after["items"] and after["cache_hit"] is False
    assert after["items"] == database_page(user, 6)


def database_page_without_main(user: uuid.UUID, page: int, limit: int) -> list[str]:
    with app_connect() as app:
        row = app.execute(
            "SELECT items FROM api.personalized(%s, NULL, NULL, NULL, NULL, NULL, %s, %s, '{}',"
            " p_read_main => false)",
            (user, page, limit),
        ).fetchone()
    assert row is not None
    return [str(item) for item in row[0]]


def _set_main_port(recs: psycopg.Connection, port: str) -> str:
    """Point the recs DB's link to main at port (1: unreachable); returns the port it had."""
    row = recs.execute(
        "SELECT option_value FROM pg_foreign_server s, pg_options_to_table(s.srvoptions)"
        " WHERE s.srvname = 'main_db' AND option_name = 'port'"
    ).fetchone()
    assert row is not None
    recs.execute(sql.SQL("ALTER SERVER main_db OPTIONS (SET port {})").format(sql.Literal(port)))
    return str(row[0])


def test_only_a_state_that_read_main_and_found_no_unsynced_event_is_quiet() -> None:
    def state(fingerprint: str, checked: bool = True) -> CacheState:
        return CacheState(
            popular_version=1, personalized_version=2, synced_version=3, fresh_fingerprint=fingerprint,
            fresh_checked=checked,
        )  # fmt: skip

    assert is_quiet(state("0/-|7@-|d41d8").token)
    assert not is_quiet(state("1/2026-12-03 18:00:00+00|7@-|d41d8").token)
    assert not is_quiet(state("unchecked|7@-|d41d8", checked=False).token)
    assert not is_quiet(state("0/-|7@-|d41d8", checked=False).token)
    assert state("0/-|7@-|d41d8").token != state("0/-|8@-|d41d8").token


async def test_a_miss_under_a_quiet_stored_state_ranks_without_reading_main(
    databases: tuple[psycopg.Connection, ...], settings: Settings, world: World
) -> None:
    _, recs = databases
    presents = [world.present(price=10 + index) for index in range(9)]
    user = world.users(1, "f", "25-34")[0]
    for present in presents[
        :3
    ]:  # older than the sync's overlap window: main holds nothing unsynced of theirs
        world.like(user, present, at=NOW - dt.timedelta(days=1))
    for twin in world.users(5, "f", "25-34"):
        for present in presents:
            world.like(twin, present)
    world.refresh_all()
    five_seconds = serving_settings(settings, personalized_state_max_age_ms=5000)
    async with AsyncTestClient(app=create_app(five_seconds)) as client:
        first = await client.post(
            "/personalized", json={"user_id": str(user), "pagination": {"limit": 2}}, auth=AUTH
        )
        assert first.json()["degraded"] is False  # the state read main and found nothing unsynced
        port = _set_main_port(recs, "1")  # main unreachable from the recs DB from now on
        try:
            body = {"user_id": str(user), "pagination": {"page": 2, "limit": 2}}
            second = await client.post("/personalized", json=body, auth=AUTH)
        finally:
            _set_main_port(recs, port)
    # Ranked now from the stored state (no read of main, which would have failed and said degraded).
    page = second.json()
    assert second.status_code == 200 and page["cache_hit"] is False and page["degraded"] is False
    assert page["items"] and page["items"] == database_page_without_main(user, 2, 2)


async def test_a_miss_under_a_state_with_unsynced_events_still_reads_main(
    serving: AsyncTestClient, world: World, shoppers: tuple[uuid.UUID, list[uuid.UUID]]
) -> None:
    user, _ = shoppers
    first = (
        await serving.post(
            "/personalized", json={"user_id": str(user), "pagination": {"limit": 2}}, auth=AUTH
        )
    ).json()
    await asyncio.sleep(STATE_MAX_AGE_MS / 1000 + 0.05)
    liked = first["items"][1]
    world.like(user, uuid.UUID(liked))  # in main only: no sync ran
    first_again = (
        await serving.post(
            "/personalized", json={"user_id": str(user), "pagination": {"limit": 2}}, auth=AUTH
        )
    ).json()
    assert liked not in first_again["items"]
    body = {"user_id": str(user), "pagination": {"page": 2, "limit": 2}}
    second = (await serving.post("/personalized", json=body, auth=AUTH)).json()
    assert second["cache_hit"] is False and liked not in second["items"]
    assert second["items"] == database_page(user, 4)[2:]


async def test_a_state_past_half_its_life_is_read_again_in_the_background(
    settings: Settings, world: World, shoppers: tuple[uuid.UUID, list[uuid.UUID]], redis_server: RedisServer
) -> None:
    user, presents = shoppers
    body = {"user_id": str(user), "pagination": {"limit": 6}}
    state_key = KEY_PREFIX + personalized_state_key(str(user))
    three_seconds = serving_settings(settings, personalized_state_max_age_ms=3000)
    async with AsyncTestClient(app=create_app(three_seconds)) as client:
        first = (await client.post("/personalized", json=body, auth=AUTH)).json()
        token = redis_server.client().get(state_key)
        world.like(user, uuid.UUID(first["items"][0]))
        await asyncio.sleep(1.6)  # past half the state's life, which has 1.4 s left
        hit = (await client.post("/personalized", json=body, auth=AUTH)).json()
        assert hit["cache_hit"] is True and hit["items"] == first["items"]  # the stored state still holds
        for _ in range(60):  # up to 1.2 s, before the old state expires
            if redis_server.client().get(state_key) != token:
                break
            await asyncio.sleep(0.02)
        assert redis_server.client().get(state_key) != token  # read anew before the old one expired
        assert redis_server.client().pttl(state_key) > 1500
        await asyncio.sleep(0.1)  # the worker's own copy of the old token (50 ms at most) is gone
        after = (await client.post("/personalized", json=body, auth=AUTH)).json()
        assert first["items"][0] not in after["items"] and after["items"] == database_page(user, 6)
    assert str(presents[0]) not in after["items"]


async def test_a_worker_uses_its_copy_of_a_state_briefly_and_a_write_outwaits_it(
    settings: Settings, shoppers: tuple[uuid.UUID, list[uuid.UUID]], redis_server: RedisServer
) -> None:
    user, _ = shoppers
    body = {"user_id": str(user), "pagination": {"limit": 4}}
    copies = serving_settings(
        settings, personalized_state_max_age_ms=60_000, personalized_state_local_ms=1000
    )
    async with AsyncTestClient(app=create_app(copies)) as client:
        first = (await client.post("/personalized", json=body, auth=AUTH)).json()  # read, stored in Redis
        await client.post("/personalized", json=body, auth=AUTH)  # found in Redis: copied here
        redis_server.flush()
        copied = (await client.post("/personalized", json=body, auth=AUTH)).json()
        assert copied["cache_hit"] is True and copied["items"] == first["items"]  # no Redis asked

        started = time.monotonic()
        put = await client.put(f"/user-profile/{user}", json={"gender": "m"}, auth=AUTH)
        assert put.status_code == 200 and time.monotonic() - started >= 1.0  # every copy expired first
        after = (await client.post("/personalized", json=body, auth=AUTH)).json()
        assert after["cache_hit"] is False and after["items"] == database_page(user, 4)


async def test_a_workers_copy_past_half_its_time_is_renewed_in_the_background(
    settings: Settings, shoppers: tuple[uuid.UUID, list[uuid.UUID]], redis_server: RedisServer
) -> None:
    user, _ = shoppers
    body = {"user_id": str(user), "pagination": {"limit": 4}}
    copies = serving_settings(
        settings, personalized_state_max_age_ms=60_000, personalized_state_local_ms=1000
    )
    async with AsyncTestClient(app=create_app(copies)) as client:
        await client.post("/personalized", json=body, auth=AUTH)  # read, stored in Redis
        await client.post("/personalized", json=body, auth=AUTH)  # found in Redis: copied for 1 s
        copied_at = time.monotonic()
        await asyncio.sleep(0.6)
        assert (await client.post("/personalized", json=body, auth=AUTH)).json()["cache_hit"] is True
        await asyncio.sleep(max(0.0, copied_at + 1.15 - time.monotonic()))  # the first copy has expired
        redis_server.flush()
        renewed = (await client.post("/personalized", json=body, auth=AUTH)).json()
        assert renewed["cache_hit"] is True  # the copy renewed at 0.6 s answers, not Redis


async def test_one_state_read_per_user_at_a_time() -> None:
    flights: SingleFlight[int] = SingleFlight()
    calls = 0

    async def read() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return calls

    assert await asyncio.gather(*(flights.run("u", read) for _ in range(5))) == [1] * 5
    flights.start("u", read)
    flights.start("u", read)
    assert len(flights) == 1 and await flights.run("u", read) == 2 and len(flights) == 0
    assert await flights.run("v", read) == 3


@pytest.mark.parametrize("method", ["put", "patch"])
async def test_a_profile_write_tombstones_the_state_so_the_next_request_sees_it(
    settings: Settings,
    world: World,
    shoppers: tuple[uuid.UUID, list[uuid.UUID]],
    redis_server: RedisServer,
    method: str,
) -> None:
    world.recs.execute("SELECT recs.set_setting('min_segment_users', '0')")  # small segments count
    world.recs.execute("SELECT recs.set_setting('popular_lift_prior_users', '0')")  # ... on their own
    for_men = world.present(price=50)
    for fan in world.users(8, "m", "55+"):
        world.like(fan, for_men)
    world.refresh()
    newcomer = world.users(1, "m", "55+")[0]  # no interactions: the demographic popular tier
    body = {"user_id": str(newcomer), "pagination": {"limit": 5}}
    long_lived = serving_settings(settings, personalized_state_max_age_ms=60_000)
    async with AsyncTestClient(app=create_app(long_lived)) as client:
        await client.post("/personalized", json=body, auth=AUTH)
        before = (await client.post("/personalized", json=body, auth=AUTH)).json()
        assert before["cache_hit"] is True and before["algorithm_used"] == "popular"
        assert before["items"] == database_page(newcomer) and before["items"][0] == str(for_men)

        demographics = {"gender": "f", "age_group": "25-34"}
        write = getattr(client, method)  # PUT replaces the demographics, PATCH changes these two
        assert (await write(f"/user-profile/{newcomer}", json=demographics, auth=AUTH)).status_code == 200
        state_key = KEY_PREFIX + personalized_state_key(str(newcomer))
        assert redis_server.client().get(state_key) == TOMBSTONE
        after = (await client.post("/personalized", json=body, auth=AUTH)).json()
        assert after["cache_hit"] is False and after["items"] == database_page(newcomer)
        assert after["items"][0] != str(for_men)  # the young women's favourites now

        # A state read before the write, stored after it, is refused while the tombstone lives.
        store = redis_server.client().register_script(PERSONALIZED_STORE_STATE)
        stored = store(keys=[state_key], args=["old-token", 60_000, TOMBSTONE])
        assert stored == 0 and redis_server.client().get(state_key) == TOMBSTONE
        # Neither the user id nor their state names them in Redis.
        for key in redis_server.client().keys(f"{KEY_PREFIX}*"):
            assert str(newcomer).encode() not in key + (redis_server.client().get(key) or b"")


async def test_an_erased_users_cached_pages_are_never_served_again(
    settings: Settings, shoppers: tuple[uuid.UUID, list[uuid.UUID]], redis_server: RedisServer
) -> None:
    user, _ = shoppers
    body = {"user_id": str(user), "pagination": {"limit": 4}}
    long_lived = serving_settings(settings, personalized_state_max_age_ms=60_000)
    async with AsyncTestClient(app=create_app(long_lived)) as client:
        await client.post("/personalized", json=body, auth=AUTH)
        cached = (await client.post("/personalized", json=body, auth=AUTH)).json()
        assert cached["cache_hit"] is True and cached["interactions"] == 3
        assert (await client.delete(f"/user-profile/{user}", auth=AUTH)).status_code == 204
        after = (await client.post("/personalized", json=body, auth=AUTH)).json()
        assert after["cache_hit"] is False and after["items"] == database_page(user, 4)


async def test_the_worker_cache_answers_without_redis_until_the_data_version_changes(
    serving: AsyncTestClient,
    world: World,
    shoppers: tuple[uuid.UUID, list[uuid.UUID]],
    redis_server: RedisServer,
) -> None:
    _, presents = shoppers
    first = await serving.post("/popular", json=POPULAR, auth=AUTH)
    assert first.json()["cache_hit"] is False
    redis_server.flush()  # the worker still holds the page
    held = await serving.post("/popular", json=POPULAR, auth=AUTH)
    assert held.json()["cache_hit"] is True and stored_part(held.content) == stored_part(first.content)
    assert len(clients_of(serving).cache.local_of("popular")) == 1

    # New likes make another present the most popular; the refresh bumps the popular data version.
    for fan in world.users(8, "f", "25-34"):
        world.like(fan, presents[8])
    world.refresh()
    fresh = (await serving.post("/popular", json=POPULAR, auth=AUTH)).json()
    assert fresh["cache_hit"] is False and fresh["items"][0] == str(presents[8])
    assert len(clients_of(serving).cache.local_of("popular")) == 1  # the old version's page was dropped
    assert (await serving.post("/popular", json=POPULAR, auth=AUTH)).json()["cache_hit"] is True


async def test_the_worker_cache_is_bounded(
    settings: Settings, shoppers: tuple[uuid.UUID, list[uuid.UUID]]
) -> None:
    async with AsyncTestClient(app=create_app(serving_settings(settings, local_cache_entries=3))) as client:
        for page in range(1, 7):
            body = {"user_params": {"gender": "f"}, "pagination": {"page": page, "limit": 1}}
            assert (await client.post("/popular", json=body, auth=AUTH)).status_code == 200
        assert len(clients_of(client).cache.local_of("popular")) == 3


def test_local_cache_keeps_the_most_recently_used_of_one_version_until_they_expire() -> None:
    local = LocalCache(2)
    local.put("7", "a", b"A", 60)
    local.put("7", "b", b"B", 60)
    assert local.get("7", "a") == b"A"  # now b is the least recently used
    local.put("7", "c", b"C", 60)
    assert local.get("7", "b") is None and local.get("7", "a") == b"A" and local.get("7", "c") == b"C"
    local.put("7", "gone", b"G", 0)
    assert local.get("7", "gone") is None
    assert local.get("8", "a") is None and len(local) == 0  # another version: all dropped
    off = LocalCache(0)
    off.put("7", "a", b"A", 60)
    assert off.get("7", "a") is None and len(off) == 0


async def test_requests_are_logged_as_one_summary_line_per_interval(
    settings: Settings, shoppers: tuple[uuid.UUID, list[uuid.UUID]], caplog: pytest.LogCaptureFixture
) -> None:
    # The interval starts at the first request: all six must fit in it, with room on a busy machine
    # (at 200 ms a slow first request once pushed the last ones into a second line).
    app = create_app(serving_settings(settings, request_log_interval_ms=1000))
    logging.getLogger().addHandler(caplog.handler)  # create_app replaced the root handlers
    try:
        async with AsyncTestClient(app=app) as client:
            with caplog.at_level(logging.INFO):
                for _ in range(5):
                    assert (await client.post("/popular", json=POPULAR, auth=AUTH)).status_code == 200
                invalid = await client.post("/popular", json={"pagination": {"page": 0}}, auth=AUTH)
                assert invalid.status_code == 422
                await asyncio.sleep(1.2)
    finally:
        logging.getLogger().removeHandler(caplog.handler)
    events = [record for record in caplog.records if record.name == "service.http"]
    assert [record.getMessage() for record in events] == ["http.requests"]
    line = vars(events[0])
    assert line["requests"] == 6 and line["routes"] == {"POST /popular": 6}
    assert line["statuses"] == {"200": 5, "422": 1}
    assert 0 < line["p50_ms"] <= line["p99_ms"] <= line["max_ms"]
    json.dumps(line, default=str)  # one JSON line, as the formatter writes it


def test_a_summary_without_requests_writes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    summary = RequestSummary(1.0)
    with caplog.at_level(logging.INFO):
        summary.emit()
        summary.add("GET /health", 200, 0.002)
        summary.emit()
        summary.emit()
    lines = [record for record in caplog.records if record.getMessage() == "http.requests"]
    assert len(lines) == 1 and vars(lines[0])["requests"] == 1


def test_telemetry_writes_its_batched_counts_as_one_observation_at_a_time_would() -> None:
    telemetry = Telemetry()
    durations = [0.0004, 0.001, 0.003, 0.003, 0.07, 9.0]
    for seconds in durations:
        telemetry.observe_request("/batched", "POST", 200, seconds, "popular")
        telemetry.observe_cache_lookup("batched", "hit")

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    assert sample("mysanta_http_requests_total", route="/batched", method="POST", status="200") == 0
    telemetry.write_series()
    telemetry.write_series()  # nothing pending: nothing added twice
    assert sample("mysanta_http_requests_total", route="/batched", method="POST", status="200") == 6
    assert sample("mysanta_cache_lookups_total", kind="batched", result="hit") == 6
    for name, labels in (
        ("mysanta_http_request_duration_seconds", {"route": "/batched", "method": "POST"}),
        ("mysanta_recommendation_duration_seconds", {"route": "/batched", "algorithm": "popular"}),
    ):
        assert sample(f"{name}_count", **labels) == 6
        assert sample(f"{name}_sum", **labels) == pytest.approx(sum(durations))
        for bound in (*LATENCY_BUCKETS_S, float("inf")):
            le = "+Inf" if bound == float("inf") else str(bound)
            expected = sum(1 for seconds in durations if seconds <= bound)
            assert sample(f"{name}_bucket", **labels, le=le) == expected, (name, le)
