"""The service on a real 3-master Redis Cluster (redis+cluster:// URL): every cache path and the /stats
counters work across its slots (the scripts and MULTI/EXEC over a user's keys or the counters stay in
one slot), and a node restart costs cache misses only, its counts kept until it is back."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.cache import KEY_PREFIX, personalized_state_key
from service.telemetry import Telemetry
from tests.clusters import RedisClusterNodes
from tests.conftest import ADMIN_AUTH, AUTH, make_settings, serving_settings


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[RedisClusterNodes]:
    """Three master nodes on free ports, slots shared evenly, for this module."""
    nodes = RedisClusterNodes(masters=3)
    try:
        nodes.start()
        yield nodes
    finally:
        nodes.remove()


@pytest.fixture
def cluster_client_app(redis_cluster: RedisClusterNodes, databases: tuple[psycopg.Connection, ...]) -> Any:
    """The app on this test's databases with the cluster as its Redis (emptied) and the serving
    path's defaults (personalised states in Redis, per-worker copies)."""
    for port, _ in redis_cluster.ports:
        redis_cluster._cli(port, "flushall")
    return create_app(serving_settings(make_settings(redis_cluster.url), stats_flush_ms=100))


def recommendation_counts(stats: dict[str, Any]) -> dict[str, int]:
    """/stats' request counts per 'route algorithm'."""
    return {f"{row['route']} {row['algorithm']}": row["requests"] for row in stats["requests"]}


async def test_every_cache_path_and_the_shared_counts_work_on_a_redis_cluster(
    cluster_client_app: Any, shoppers: tuple[uuid.UUID, list[uuid.UUID]], redis_cluster: RedisClusterNodes
) -> None:
    user, presents = shoppers
    async with AsyncTestClient(app=cluster_client_app) as client:
        health = (await client.get("/health")).json()
        assert health["checks"]["redis"]["status"] == "up"
        for body in ({}, {"pagination": {"limit": 2}}):
            assert (await client.post("/popular", json=body, auth=AUTH)).json()["cache_hit"] is False
            assert (await client.post("/popular", json=body, auth=AUTH)).json()["cache_hit"] is True
        similar = {"present_id": str(presents[0])}
        assert (await client.post("/similar", json=similar, auth=AUTH)).json()["cache_hit"] is False
        assert (await client.post("/similar", json=similar, auth=AUTH)).json()["cache_hit"] is True

        # The personalised path: the state and the page under it, read in one script (one slot).
        mine = {"user_id": str(user)}
        first = (await client.post("/personalized", json=mine, auth=AUTH)).json()
        assert first["cache_hit"] is False and first["algorithm_used"] == "collaborative"
        await asyncio.sleep(0.1)  # past the worker's own copy (PERSONALIZED_STATE_LOCAL_MS): Redis answers
        again = (await client.post("/personalized", json=mine, auth=AUTH)).json()
        assert again["cache_hit"] is True and again["items"] == first["items"]
        state_node = redis_cluster.node_of(KEY_PREFIX + personalized_state_key(str(user)))
        state_port = redis_cluster.ports[state_node][0]
        assert redis_cluster._cli(state_port, "exists", KEY_PREFIX + personalized_state_key(str(user))) == "1"

        for _ in range(6):  # each user's state and pages share a slot, wherever it falls
            anyone = {"user_id": str(uuid.uuid4())}
            assert (await client.post("/personalized", json=anyone, auth=AUTH)).json()["cache_hit"] is False
            await asyncio.sleep(0.1)
            assert (await client.post("/personalized", json=anyone, auth=AUTH)).json()["cache_hit"] is True
        # A write tombstones the state; the next page is ranked without the dismissed present.
        dismissed = first["items"][0]
        feedback = {"user_id": str(user), "present_id": dismissed, "kind": "dismiss"}
        assert (await client.post("/feedback", json=feedback, auth=AUTH)).status_code in (200, 201)
        after = (await client.post("/personalized", json=mine, auth=AUTH)).json()
        assert dismissed not in after["items"] and after["cache_hit"] is False

        profile = {"gender": "female", "age_group": "25-34"}
        assert (await client.put(f"/user-profile/{user}", json=profile, auth=AUTH)).status_code == 200
        assert (await client.get(f"/user-profile/{user}", auth=AUTH)).json()["demographics"]["gender"] == "f"

        # The counters: one MULTI/EXEC per flush over several keys, all in the {v1} slot.
        stats = (await client.get("/stats", auth=ADMIN_AUTH)).json()
        assert stats["telemetry_available"] is True
        counts = recommendation_counts(stats)
        assert counts["/popular popular"] == 4 and counts["/personalized collaborative"] == 3
        assert stats["cache_by_kind"]["popular"]["hits"] == 2
        assert stats["cache"]["errors"] == 0, "no lookup was refused (a script's keys outside its slot)"
        slots = {redis_cluster._cli(state_port, "cluster", "keyslot", Telemetry.KEY_PREFIX + name) for name in
                 ("since", "requests", "cache", "latency:/popular popular")}  # fmt: skip
        assert len(slots) == 1
        holding = [port for port, _ in redis_cluster.ports if int(redis_cluster._cli(port, "dbsize")) > 0]
        assert len(holding) >= 2, "the keys are spread over the cluster's nodes"


async def test_a_node_restart_costs_cache_misses_only_and_no_counts(
    cluster_client_app: Any, shoppers: tuple[uuid.UUID, list[uuid.UUID]], redis_cluster: RedisClusterNodes
) -> None:
    user, _ = shoppers
    counters_node = redis_cluster.node_of(Telemetry.KEY_PREFIX + "requests")
    async with AsyncTestClient(app=cluster_client_app) as client:
        for limit in (1, 2, 3):
            response = await client.post("/popular", json={"pagination": {"limit": limit}}, auth=AUTH)
            assert response.status_code == 200
        await asyncio.sleep(0.3)  # flushed: these counts are on the node, and go with it (nothing is saved)
        asked = 0
        redis_cluster.stop_node(counters_node)
        try:
            for limit in (1, 2, 3, 4):  # cached or not, on the stopped node or not: answered
                response = await client.post("/popular", json={"pagination": {"limit": limit}}, auth=AUTH)
                assert response.status_code == 200, response.text
                asked += 1
            personal = await client.post("/personalized", json={"user_id": str(user)}, auth=AUTH)
            assert personal.status_code == 200 and personal.json()["items"], personal.text
            health = await client.get("/health")
            assert health.status_code == 200 and health.json()["checks"]["redis"]["status"] == "down"
            stats = (await client.get("/stats", auth=ADMIN_AUTH)).json()
            assert stats["telemetry_available"] is False
        finally:
            redis_cluster.start_node(counters_node)
            redis_cluster.wait_ok(redis_cluster.ports[counters_node][0])

        deadline = time.monotonic() + 20
        while True:  # the client finds the node again; the counts kept meanwhile are added
            stats = (await client.get("/stats", auth=ADMIN_AUTH)).json()
            if stats["telemetry_available"]:
                break
            assert time.monotonic() < deadline, stats
            await asyncio.sleep(0.2)
        # The node came back empty (a cache: no persistence); what was counted while it was away is added.
        assert recommendation_counts(stats)["/popular popular"] == asked, "no count lost, none twice"
        assert (await client.get("/health")).json()["checks"]["redis"]["status"] == "up"
        body = {"pagination": {"limit": 7}}
        assert (await client.post("/popular", json=body, auth=AUTH)).json()["cache_hit"] is False
        assert (await client.post("/popular", json=body, auth=AUTH)).json()["cache_hit"] is True
