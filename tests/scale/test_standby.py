"""Reads on a real hot standby (pg_basebackup -R of the test cluster): api.* reads go to it, the live
read of main through the FDW works from it, a page ranked there is keyed on its own data version, a
user's write shows in their next read, and a standby that lags or dies is skipped."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from service.app import create_app
from service.cache import KEY_PREFIX
from service.settings import Settings
from tests.clusters import Standby
from tests.conftest import (
    ADMIN_AUTH,
    APP_PASSWORD,
    AUTH,
    RECS_DB,
    SUPERUSER,
    RedisServer,
    _superuser_connect,
    app_connect,
)
from tests.data import World

CHECK_MS = 100  # how often the app checks the standby in these tests


@pytest.fixture(scope="module")
def standby() -> Iterator[Standby]:
    """A hot standby of the test cluster for this module (the cluster allows replication over its
    socket: scripts/infra.sh writes the pg_hba line; one started before that gets it here)."""
    with _superuser_connect("postgres") as conn:
        hba = Path(str(conn.execute("SHOW hba_file").fetchone()[0]))  # type: ignore[index]
        if "\nlocal   replication" not in hba.read_text():
            with hba.open("a") as lines:
                lines.write("local   replication   all            trust\n")
            conn.execute("SELECT pg_reload_conf()")
    server = Standby(str(SUPERUSER.host), int(SUPERUSER.port))
    try:
        server.create()
        server.start()
        yield server
    finally:
        server.remove()


def replayed(standby: Standby, timeout_s: float = 60) -> None:
    """Wait until the standby has replayed everything the primary has written so far."""
    with _superuser_connect("postgres") as primary:
        target = primary.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]  # type: ignore[index]
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(standby.superuser_url(), autocommit=True) as conn:
        while True:
            done = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)).fetchone()
            if done and done[0]:
                return
            assert time.monotonic() < deadline, "the standby did not catch up"
            time.sleep(0.05)


def standby_sql(standby: Standby, sql: str, dbname: str = "postgres") -> Any:
    """The first value of sql run on the standby as superuser."""
    with psycopg.connect(standby.superuser_url(dbname), autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
        return None if row is None else row[0]


def replica_settings(settings: Settings, standby: Standby, **overrides: Any) -> Settings:
    """The test settings with the standby as the one read replica, checked every CHECK_MS."""
    url = f"postgresql://mysanta_app:{APP_PASSWORD}@127.0.0.1:{standby.port}/{RECS_DB}"
    values = {
        "recommendations_replica_urls": (url,),
        "replica_check_ms": CHECK_MS,
        "replica_max_lag_ms": 60_000,
    }
    return msgspec.structs.replace(settings, **(values | overrides))


@pytest.fixture
async def paused(standby: Standby, databases: tuple[psycopg.Connection, ...]) -> AsyncIterator[Standby]:
    """The standby with this test's databases replayed; the test may pause replay, resumed after."""
    replayed(standby)
    yield standby
    standby_sql(standby, "SELECT pg_wal_replay_resume()")


def replica_reads() -> float:
    """Reads run on standbys so far (this process's counter)."""
    return REGISTRY.get_sample_value("mysanta_db_reads_total", {"target": "replica"}) or 0.0


async def reads_counted() -> None:
    """Past the next check, which adds the reads since the last one to the counter."""
    await asyncio.sleep(3 * CHECK_MS / 1000)


async def health_of(client: AsyncTestClient, status: str, timeout_s: float = 10) -> dict[str, Any]:
    """/health once the standby's status is status."""
    deadline = time.monotonic() + timeout_s
    while True:
        health = (await client.get("/health")).json()
        if health["replicas"][0]["status"] == status:
            return health  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, health
        await asyncio.sleep(0.05)


async def test_pages_are_read_on_the_standby_and_keyed_on_its_own_data_version(
    paused: Standby, world: World, settings: Settings, redis_server: RedisServer
) -> None:
    first, second = world.present(), world.present()
    for index, user in enumerate(world.users(3, "f", "25-34")):
        world.like(user, first)
        if index:
            world.like(user, second)
    world.refresh_all()
    replayed(paused)
    async with AsyncTestClient(app=create_app(replica_settings(settings, paused))) as client:
        health = await health_of(client, "up")
        assert health["status"] == "ok" and health["replicas"][0]["name"].endswith(
            f":{paused.port}/{RECS_DB}"
        )

        standby_sql(paused, "SELECT pg_wal_replay_pause()")
        newer = world.present()
        for user in world.users(5, "m", "35-44"):
            world.like(user, newer)
        world.refresh("refresh_popular_items")
        versions = "SELECT version FROM recs.data_versions WHERE name = 'popular'"
        primary_version = world.recs.execute(versions).fetchone()[0]  # type: ignore[index]
        standby_version = standby_sql(paused, versions, RECS_DB)
        assert standby_version < primary_version

        reads_before = replica_reads()
        page = (await client.post("/popular", json={}, auth=AUTH)).json()
        assert page["items"] == [str(first), str(second)], "ranked on the paused standby: no newer present"
        await reads_counted()
        assert replica_reads() > reads_before
        stored = [key.decode() for key in redis_server.client().keys(f"{KEY_PREFIX}popular:*")]
        assert [key.split(":")[2] for key in stored] == [str(standby_version)]
        # /similar's page says no version of its own: its key holds the versions read where it was ranked.
        assert (await client.post("/similar", json={"present_id": str(first)}, auth=AUTH)).status_code == 200
        stored = [key.decode() for key in redis_server.client().keys(f"{KEY_PREFIX}similar:*")]
        assert [key.split(":")[2].split(".")[0] for key in stored] == [str(standby_version)]

    # The primary's own app, on the same Redis: its key names the newer version, so it never meets
    # the standby's page.
    async with AsyncTestClient(app=create_app(settings)) as primary_only:
        page = (await primary_only.post("/popular", json={}, auth=AUTH)).json()
        assert page["cache_hit"] is False and page["items"][0] == str(newer)

    standby_sql(paused, "SELECT pg_wal_replay_resume()")
    replayed(paused)
    async with AsyncTestClient(app=create_app(replica_settings(settings, paused))) as client:
        await health_of(client, "up")
        page = (await client.post("/popular", json={}, auth=AUTH)).json()
        assert page["items"][0] == str(newer)


async def test_the_live_read_of_main_works_through_the_fdw_from_the_standby(
    paused: Standby, world: World, shoppers: tuple[uuid.UUID, list[uuid.UUID]], settings: Settings
) -> None:
    user, presents = shoppers
    replayed(paused)
    standby_sql(paused, "SELECT pg_wal_replay_pause()")  # nothing the sync could copy arrives
    world.like(user, presents[3])  # in main only: no job has synced it
    async with AsyncTestClient(app=create_app(replica_settings(settings, paused))) as client:
        await health_of(client, "up")
        reads_before = replica_reads()
        page = (await client.post("/personalized", json={"user_id": str(user)}, auth=AUTH)).json()
        assert page["algorithm_used"] == "collaborative" and page["degraded"] is False
        assert str(presents[3]) not in page["items"] and page["items"], page
        assert set(page["items"]) <= {str(present) for present in presents[4:]}
        similar = {"present_id": str(presents[0]), "user_id": str(user)}
        page = (await client.post("/similar", json=similar, auth=AUTH)).json()
        assert page["degraded"] is False and str(presents[3]) not in page["items"]
        await reads_counted()
        assert replica_reads() >= reads_before + 2


async def test_a_write_is_visible_to_the_next_read_of_the_same_user(
    paused: Standby, world: World, shoppers: tuple[uuid.UUID, list[uuid.UUID]], settings: Settings
) -> None:
    user, _presents = shoppers
    newcomer = uuid.uuid4()
    replayed(paused)
    async with AsyncTestClient(app=create_app(replica_settings(settings, paused))) as client:
        await health_of(client, "up")
        standby_sql(paused, "SELECT pg_wal_replay_pause()")  # no write reaches the standby now

        profile = {"gender": "female", "age_group": "25-34", "locale": "en"}
        assert (await client.put(f"/user-profile/{newcomer}", json=profile, auth=AUTH)).status_code == 200
        read = await client.get(f"/user-profile/{newcomer}", auth=AUTH)
        assert read.status_code == 200 and read.json()["demographics"]["gender"] == "f"

        page = (await client.post("/personalized", json={"user_id": str(user)}, auth=AUTH)).json()
        dismissed = page["items"][0]
        feedback = {"user_id": str(user), "present_id": dismissed, "kind": "dismiss"}
        assert (await client.post("/feedback", json=feedback, auth=AUTH)).status_code in (200, 201)
        page = (await client.post("/personalized", json={"user_id": str(user)}, auth=AUTH)).json()
        assert dismissed not in page["items"] and page["items"]

        # Another user's reads still go to the standby, which has neither write.
        reads_before = replica_reads()
        other = (await client.post("/personalized", json={"user_id": str(uuid.uuid4())}, auth=AUTH)).json()
        assert other["algorithm_used"] == "popular"
        await reads_counted()
        assert replica_reads() > reads_before
    with psycopg.connect(paused.superuser_url(RECS_DB), autocommit=True) as conn:
        found = conn.execute("SELECT count(*) FROM recs.users WHERE user_id = %s", (newcomer,)).fetchone()
        assert found == (0,), "the standby had not replayed the write: the read went to the primary"


async def test_a_lagging_standby_is_skipped_and_reported(
    paused: Standby, world: World, settings: Settings
) -> None:
    first = world.present()
    world.like(world.users(1, "f", "25-34")[0], first)
    world.refresh_all()
    replayed(paused)
    async with AsyncTestClient(
        app=create_app(replica_settings(settings, paused, replica_max_lag_ms=300))
    ) as client:
        await health_of(client, "up")
        standby_sql(paused, "SELECT pg_wal_replay_pause()")
        newer = world.present()
        for user in world.users(3, "m", "35-44"):
            world.like(user, newer)
        world.refresh("refresh_popular_items")

        health = await health_of(client, "lagging")
        assert health["status"] == "degraded" and health["replicas"][0]["lag_ms"] > 300
        metrics = (await client.get("/metrics", auth=ADMIN_AUTH)).text
        assert 'mysanta_replica_usable{replica="' in metrics
        usable = [line for line in metrics.splitlines() if line.startswith("mysanta_replica_usable{")]
        assert usable and all(line.endswith(" 0.0") for line in usable), usable
        page = (await client.post("/popular", json={}, auth=AUTH)).json()
        assert page["items"][0] == str(newer), "the lagging standby is skipped: read on the primary"

        standby_sql(paused, "SELECT pg_wal_replay_resume()")
        health = await health_of(client, "up")
        assert health["status"] == "ok"


async def test_killing_the_standby_degrades_nothing(
    paused: Standby, world: World, shoppers: tuple[uuid.UUID, list[uuid.UUID]], settings: Settings
) -> None:
    user, _presents = shoppers
    replayed(paused)
    async with AsyncTestClient(app=create_app(replica_settings(settings, paused))) as client:
        await health_of(client, "up")
        assert (await client.post("/popular", json={}, auth=AUTH)).status_code == 200  # a standby connection
        paused.stop("immediate")
        try:
            for limit in (1, 2, 3):  # uncached pages: each one is read from a database
                body = {"pagination": {"limit": limit}}
                popular = await client.post("/popular", json=body, auth=AUTH)
                assert popular.status_code == 200, popular.text
                personal = await client.post("/personalized", json={"user_id": str(user)} | body, auth=AUTH)
                assert personal.status_code == 200 and personal.json()["degraded"] is False, personal.text
            assert (await client.get("/facets", auth=AUTH)).status_code == 200
            profile = await client.get(f"/user-profile/{user}", auth=AUTH)
            assert profile.status_code == 200, profile.text
            health = await client.get("/health")
            assert health.status_code == 200
            assert health.json()["status"] == "degraded" and health.json()["replicas"][0]["status"] == "down"
        finally:
            paused.start()
        await health_of(client, "up", timeout_s=30)


async def test_each_server_says_where_it_stands_in_the_wal_to_the_app_role(
    paused: Standby, databases: tuple[psycopg.Connection, ...]
) -> None:
    query = "SELECT in_recovery, wal_position, replayed_at FROM api.replication_position()"
    with app_connect() as app:
        in_recovery, position, replayed_at = app.execute(query).fetchone()  # type: ignore[misc]
    assert in_recovery is False and position > 0 and replayed_at is None
    url = f"postgresql://mysanta_app:{APP_PASSWORD}@127.0.0.1:{paused.port}/{RECS_DB}"
    with psycopg.connect(url, autocommit=True) as app:
        in_recovery, standby_position, replayed_at = app.execute(query).fetchone()  # type: ignore[misc]
    assert in_recovery is True and 0 < standby_position <= position and replayed_at is not None
