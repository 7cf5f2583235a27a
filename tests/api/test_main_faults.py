"""A sick main database degrades the service instead of taking it down: main hanging on a lock,
stopped, or paused (its processes frozen). /popular keeps answering, /personalized and /similar
with a user answer degraded (the circuit breaker then skips main for a while), /health is 200
degraded with the recs DB up; when main is back, the next probe closes the breaker."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest
from litestar.testing import AsyncTestClient
from psycopg import sql

from service.app import create_app
from service.bootstrap import bootstrap, main_grants
from service.main_reads import MainBreaker
from service.migrate import migrate
from service.settings import Settings
from tests.clusters import Cluster
from tests.conftest import ADMIN_AUTH, AUTH, SUPERUSER_URL, serving_settings
from tests.data import World, a_user_among_fans
from tests.sql.test_main_elsewhere import RAILS_EXTRA, RECS_DB, elsewhere_settings

LIKER = "00000000-0000-0000-0000-000000000101"  # a user of RAILS_EXTRA with likes


def fault_settings(settings: Settings) -> Settings:
    """Short bounds, so each fault shows within a second or two."""
    return msgspec.structs.replace(settings, main_read_timeout_ms=300, main_breaker_open_s=1)


async def personalized(client: AsyncTestClient, user: str) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    response = await client.post("/personalized", json={"user_id": user}, auth=AUTH)
    assert response.status_code == 200, response.text
    return response.json(), time.perf_counter() - started


async def similar_for_liker(client: AsyncTestClient) -> dict[str, Any]:
    """/similar for LIKER, about the most popular present."""
    popular = await client.post("/popular", json={"user_params": {}}, auth=AUTH)
    body = {"present_id": popular.json()["items"][0], "user_id": LIKER}
    response = await client.post("/similar", json=body, auth=AUTH)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def assert_popular_and_health_degraded(client: AsyncTestClient) -> None:
    popular = await client.post("/popular", json={"user_params": {}}, auth=AUTH)
    assert popular.status_code == 200 and popular.json()["items"]
    similar = await similar_for_liker(client)
    assert similar["degraded"] is True and similar["items"]
    health = await client.get("/health")
    assert health.status_code == 200, health.text
    report = health.json()
    assert report["status"] == "degraded"
    assert (report["checks"]["main_db"]["status"], report["checks"]["recommendations_db"]["status"]) == (
        "down",
        "up",
    )


async def test_a_main_hanging_on_a_lock_degrades_personalized_and_the_breaker_skips_it(
    databases: tuple[psycopg.Connection, ...], settings: Settings
) -> None:
    main, recs = databases
    user, presents = a_user_among_fans(World(main, recs), 6)
    async with AsyncTestClient(app=create_app(fault_settings(settings))) as client:
        healthy, _ = await personalized(client, str(user))
        assert healthy["degraded"] is False
        # A Rails migration holds its tables: every read of them through the FDW waits.
        with psycopg.connect(main.info.dsn) as locker:
            locker.execute(
                "LOCK TABLE handpicked_likes, handpicked_present_clicks, handpicked_presents"
                " IN ACCESS EXCLUSIVE MODE"
            )
            first, _ = await personalized(client, str(user))
            assert first["degraded"] is True  # given up on after MAIN_READ_TIMEOUT_MS
            second, _ = await personalized(client, str(user))
            assert second["degraded"] is True  # the breaker is open: main is not even tried
            await assert_popular_and_health_degraded(client)
            # The requests given up on left nothing waiting on main (their backends stopped).
            for _ in range(100):
                waiting = main.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database()"
                ).fetchone()
                if waiting == (0,):
                    break
                await asyncio.sleep(0.1)
            assert waiting == (0,)
        await asyncio.sleep(1.1)  # the breaker's open time: the next call probes main again
        recovered, _ = await personalized(client, str(user))
        assert recovered["degraded"] is False
        assert str(presents[0]) not in recovered["items"]  # liked: excluded, read from main again


async def test_main_cancelling_the_live_read_degrades_personalized_instead_of_a_503(
    databases: tuple[psycopg.Connection, ...], settings: Settings
) -> None:
    """Main cancels the reader's query (a statement_timeout of main's, its DBA's pg_cancel_backend):
    postgres_fdw raises main's 57014, which PL/pgSQL's WHEN OTHERS does not catch, so every
    /personalized answered 503 "Query timed out" and the breaker never opened. Main failing is an
    answer without main (degraded), as when it is down; /health says main is down."""
    main, recs = databases
    user, _ = a_user_among_fans(World(main, recs), 6)
    main_db = sql.Identifier(main.info.dbname)
    in_main = sql.SQL("ALTER ROLE mysanta_main_reader IN DATABASE {} ").format(main_db)
    main.execute(in_main + sql.SQL("SET statement_timeout = '200ms'"))
    try:
        own = msgspec.structs.replace(settings, main_read_timeout_ms=5000, main_breaker_open_s=600)
        async with AsyncTestClient(app=create_app(own)) as client:
            with psycopg.connect(main.info.dsn) as locker:
                locker.execute(
                    "LOCK TABLE handpicked_likes, handpicked_present_clicks, handpicked_presents"
                    " IN ACCESS EXCLUSIVE MODE"
                )
                page, took = await personalized(client, str(user))  # 200, or it fails here
                assert page["degraded"] is True and page["items"]
                assert took < 5  # main's cancel, not the API's time limit
                similar = await similar_for_liker(client)
                assert similar["degraded"] is True and similar["items"]
                health = await client.get("/health")
                assert health.status_code == 200, health.text
                checks = health.json()["checks"]
                assert (checks["main_db"]["status"], checks["recommendations_db"]["status"]) == ("down", "up")
    finally:
        main.execute(in_main + sql.SQL("RESET statement_timeout"))


def test_a_read_begun_before_the_breaker_opened_does_not_close_it() -> None:
    """On a slow main, reads in flight when one times out still succeed: they must not close the
    breaker at once (it flapped open/closed on every request); the probe after open_s does."""
    breaker = MainBreaker(open_s=0.05)
    assert breaker.try_main()
    in_flight = time.monotonic()
    breaker.failed("timeout")
    breaker.succeeded(in_flight)
    assert breaker.is_open and not breaker.try_main()
    time.sleep(0.06)
    assert breaker.try_main()  # the probe
    probe = time.monotonic()
    assert not breaker.try_main()  # one probe at a time
    breaker.succeeded(probe)
    assert not breaker.is_open and breaker.try_main()


async def test_a_page_ranked_with_a_read_of_a_slow_main_is_degraded_within_the_time_limit(
    databases: tuple[psycopg.Connection, ...], settings: Settings
) -> None:
    """A page missed under a stored state with unsynced events reads main while ranking: that read
    answers within MAIN_READ_TIMEOUT_MS as the state's does (degraded, the breaker open), not at
    the statement timeout with a 503."""
    main, recs = databases
    world = World(main, recs)
    user, presents = a_user_among_fans(world, 8)
    world.like(user, presents[1])  # unsynced: a miss under the user's state reads main again
    slow = serving_settings(
        fault_settings(settings), personalized_state_max_age_ms=60_000, main_breaker_open_s=30
    )
    async with AsyncTestClient(app=create_app(slow)) as client:
        first, _ = await personalized(client, str(user))
        assert first["degraded"] is False and str(presents[1]) not in first["items"]
        with psycopg.connect(main.info.dsn) as locker:
            locker.execute("LOCK TABLE handpicked_likes, handpicked_present_clicks IN ACCESS EXCLUSIVE MODE")
            started = time.perf_counter()
            response = await client.post(
                "/personalized", json={"user_id": str(user), "pagination": {"limit": 3}}, auth=AUTH
            )
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text
        assert response.json()["degraded"] is True and elapsed < 2.5, elapsed


@contextlib.contextmanager
def the_reader_killed_while_it_waits_on_a_lock(main_dsn: str) -> Iterator[None]:
    """Main's likes locked, and the FDW's reader session ended once it waits on them (main restarting
    or failing over mid-read)."""
    with psycopg.connect(main_dsn) as locker:
        locker.execute("LOCK TABLE handpicked_likes IN ACCESS EXCLUSIVE MODE")
        done = threading.Event()
        killer = threading.Thread(target=terminate_the_reader_when_it_waits, args=(main_dsn, done))
        killer.start()
        try:
            yield
        finally:
            done.set()
            killer.join()


def terminate_the_reader_when_it_waits(main_dsn: str, done: threading.Event) -> None:
    """On main: once the FDW's reader session waits on a lock, end it (main restarting, failing over)."""
    with psycopg.connect(main_dsn, autocommit=True) as main:
        while not done.is_set():
            killed = main.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE usename = 'mysanta_main_reader' AND wait_event_type = 'Lock'"
            ).fetchall()
            if killed:
                return
            time.sleep(0.02)


async def test_a_main_session_that_dies_mid_read_degrades_the_answer_instead_of_failing_it(
    databases: tuple[psycopg.Connection, ...], settings: Settings
) -> None:
    main, recs = databases
    world = World(main, recs)
    presents = [world.present() for _ in range(4)]
    user, other = world.users(2)
    for present in presents:
        world.like(other, present)
    world.like(user, presents[0])
    world.refresh_all()
    patient = msgspec.structs.replace(settings, main_read_timeout_ms=10_000)  # no timeout: the death shows
    async with AsyncTestClient(app=create_app(patient)) as client:
        with the_reader_killed_while_it_waits_on_a_lock(main.info.dsn):
            page, _ = await personalized(client, str(user))
        assert page["degraded"] is True and page["items"]


@pytest.fixture
def rails_elsewhere(databases: tuple[psycopg.Connection, ...]) -> Iterator[tuple[Cluster, Settings]]:
    """Main on a cluster of its own (which the test may stop or freeze), the recs DB set up for it."""
    rails = Cluster("mysanta-sick-rails-")
    try:
        rails.infra("start-postgres")
        with psycopg.connect(rails.superuser_url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE rails_main")
        with psycopg.connect(rails.superuser_url("rails_main"), autocommit=True) as conn:
            conn.execute(Path("sql/main/schema.sql").read_bytes())
            conn.execute(RAILS_EXTRA.encode())
        settings = elsewhere_settings(rails)
        main_grants(settings.main_database_url, rails.superuser_url("rails_main"))
        bootstrap(SUPERUSER_URL, settings)
        migrate(settings, schedule=False)
        with psycopg.connect(settings.recommendations_owner_database_url, autocommit=True) as owner:
            owner.execute("CALL recs.refresh_all()")
        yield rails, settings
    finally:
        rails.remove()
        with psycopg.connect(SUPERUSER_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {RECS_DB} WITH (FORCE)")


def cluster_pids(rails: Cluster) -> list[int]:
    """The postmaster of the cluster and every process it started."""
    data_dir = Path(rails.state_dir) / f"pg-{rails.port}" / "data"
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    return [postmaster, *map(int, children)]


@contextlib.contextmanager
def frozen(rails: Cluster) -> Iterator[None]:
    """Every process of the cluster stopped (SIGSTOP): connections open, nothing answers."""
    pids = cluster_pids(rails)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


async def test_a_stopped_then_a_frozen_main_degrades_and_the_service_recovers_alone(
    rails_elsewhere: tuple[Cluster, Settings], redis_url: str
) -> None:
    rails, settings = rails_elsewhere
    settings = fault_settings(msgspec.structs.replace(settings, recommendations_redis_url=redis_url))
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await personalized(client, LIKER))[0]["degraded"] is False

        rails.infra("stop-postgres")
        page, _ = await personalized(client, LIKER)
        assert page["degraded"] is True and page["items"]
        await assert_popular_and_health_degraded(client)

        rails.infra("start-postgres")
        await asyncio.sleep(1.1)
        assert (await personalized(client, LIKER))[0]["degraded"] is False
        assert (await similar_for_liker(client))["degraded"] is False

        with frozen(rails):
            page, seconds = await personalized(client, LIKER)
            assert page["degraded"] is True and page["items"]
            assert seconds < 3  # MAIN_READ_TIMEOUT_MS (0.3 s) and a call without main, not 5 s
            page, _ = await personalized(client, LIKER)
            assert page["degraded"] is True
            await assert_popular_and_health_degraded(client)
        await asyncio.sleep(1.1)
        assert (await personalized(client, LIKER))[0]["degraded"] is False


@pytest.mark.parametrize("runner", ["pg_cron", "the admin API"])
async def test_a_job_whose_main_session_dies_mid_read_is_logged_as_failed(
    databases: tuple[psycopg.Connection, ...], settings: Settings, runner: str
) -> None:
    """postgres_fdw cannot roll back to its savepoint on a dead session and refuses to commit the
    transaction that used it: the run's log row must still be written (in a transaction of its own)."""
    main, recs = databases
    world = World(main, recs)
    world.like(world.users(1)[0], world.present())
    world.refresh_all()
    with the_reader_killed_while_it_waits_on_a_lock(main.info.dsn):
        if runner == "pg_cron":
            with pytest.raises(psycopg.Error) as raised:
                world.refresh("refresh_user_profiles")
            assert str(raised.value.sqlstate).startswith("08"), raised.value
        else:
            async with AsyncTestClient(app=create_app(settings)) as client:
                response = await client.post("/admin/update-user-profiles", auth=ADMIN_AUTH)
            assert response.status_code == 500, response.text
            assert "job refresh_user_profiles failed" in response.json()["detail"]
    logged = recs.execute(
        "SELECT left(details ->> 'sqlstate', 2), error IS NOT NULL FROM recs.job_runs"
        " WHERE job = 'refresh_user_profiles' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert logged == ("08", True)
    # The next run, with main back, succeeds: nothing was left half done.
    world.refresh("refresh_user_profiles")
