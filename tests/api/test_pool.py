"""The app's pool (service/db.py): a connection goes back without asyncpg's reset query, so what a
call leaves must never reach the next: an open transaction is rolled back, and settings are only
ever transaction-local."""

from __future__ import annotations

import asyncio
import logging

import msgspec
import psycopg
import pytest

from service import db
from service.app import create_app
from service.clients import STATE_KEY, Clients
from service.db import close_pool, create_pool, fetch_row_with_overrides
from service.main_reads import SingleFlight
from service.settings import Settings
from tests.conftest import SUPERUSER_URL

OVERRIDES = "SELECT current_setting('recs.setting_overrides', true)"


class Version(msgspec.Struct):
    """A row of api.data_versions."""

    name: str


async def _wait_for_statement(pattern: str) -> int:
    """The pid of the backend running a statement like pattern, once it runs."""
    with psycopg.connect(SUPERUSER_URL, autocommit=True) as admin:
        for _ in range(200):
            row = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE %s", (pattern,)
            ).fetchone()
            if row is not None:
                return int(row[0])
            await asyncio.sleep(0.05)
    raise AssertionError(f"no backend ran {pattern!r}")


def _backend_state(pid: int) -> str | None:
    """The backend's state in pg_stat_activity, None once it is gone."""
    with psycopg.connect(SUPERUSER_URL, autocommit=True) as admin:
        row = admin.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    return None if row is None else str(row[0])


@pytest.mark.usefixtures("databases")
async def test_what_a_call_leaves_on_its_connection_never_reaches_the_next(settings: Settings) -> None:
    pool = await create_pool(msgspec.structs.replace(settings, db_pool_min_size=1, db_pool_max_size=1))
    try:
        async with pool.acquire() as connection:
            backend = await connection.fetchval("SELECT pg_backend_pid()")
            await connection.execute("BEGIN")
            await connection.execute("SELECT set_config('recs.setting_overrides', '{\"a\": 1}', true)")
        # released inside its transaction: rolled back on the way
        async with pool.acquire() as connection:
            assert await connection.fetchval("SELECT pg_backend_pid()") == backend  # the same connection
            assert not connection.is_in_transaction()
            assert await connection.fetchval("SELECT current_setting('recs.setting_overrides', true)") in (
                None,
                "",
            )
        # an experiment variant's overrides hold for its own call only
        await fetch_row_with_overrides(pool, '{"like_weight": "2"}', Version, "data_versions")
        async with pool.acquire() as connection:
            assert await connection.fetchval("SELECT pg_backend_pid()") == backend
            assert await connection.fetchval("SELECT current_setting('recs.setting_overrides', true)") in (
                None,
                "",
            )
    finally:
        await pool.close()


@pytest.mark.usefixtures("databases")
async def test_a_connection_never_released_does_not_keep_the_pool_from_closing(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker's shutdown closes its pool; asyncpg's close waits for every connection to come back,
    so a call stuck holding one (a background reread) would keep the worker from ever exiting."""
    monkeypatch.setattr(db, "POOL_CLOSE_TIMEOUT_S", 0.2)
    pool = await create_pool(msgspec.structs.replace(settings, db_pool_min_size=1, db_pool_max_size=2))
    held = await pool.acquire()  # never released
    held_backend = await held.fetchval("SELECT pg_backend_pid()")
    released = await pool.acquire()
    await pool.release(released)
    with caplog.at_level(logging.WARNING, logger="service.db"):
        # Bounded here only so that a close that waits for ever fails the test instead of hanging it.
        await asyncio.wait_for(close_pool(pool), timeout=30)
    assert pool.is_closing()
    assert [record.getMessage() for record in caplog.records] == ["db.pool_close_timeout"]
    # The connection held was terminated: its backend goes (the server notices the socket closed).
    for _ in range(100):
        gone = _backend_state(held_backend) is None
        if gone:
            break
        await asyncio.sleep(0.1)
    assert gone


@pytest.mark.usefixtures("databases")
async def test_a_pool_whose_connections_are_all_back_closes_without_a_warning(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    pool = await create_pool(msgspec.structs.replace(settings, db_pool_min_size=1, db_pool_max_size=1))
    async with pool.acquire() as connection:
        assert await connection.fetchval("SELECT 1") == 1
    with caplog.at_level(logging.WARNING, logger="service.db"):
        await close_pool(pool)
    assert pool.is_closing() and not caplog.records


@pytest.mark.usefixtures("databases")
async def test_stopping_a_background_reread_gives_its_connection_back_at_once(settings: Settings) -> None:
    """A worker's shutdown stops its background rereads before it closes the pool: the reread's
    statement is cancelled and its connection is back, so the close waits for nothing."""
    pool = await create_pool(msgspec.structs.replace(settings, db_pool_min_size=1, db_pool_max_size=1))
    reads: list[str] = []

    async def read(on: object) -> None:
        # the first read is quick; the second, in the background, would take a minute
        statement = "SELECT 1" if not reads else "SELECT pg_sleep(60) /* slow reread */"
        reads.append(statement)
        await pool.execute(statement)

    reread = db.Reread(4.0, read)
    try:
        await reread.ensure(pool)  # never read: waited for
        await asyncio.sleep(2.5)  # past half its age, well within it
        await reread.ensure(pool)  # goes on at once, the reread runs in the background
        backend = await _wait_for_statement("%slow reread%")
        await asyncio.wait_for(reread.stop(), timeout=30)
        assert pool.get_idle_size() == pool.get_size() == 1  # the connection is back
        assert _backend_state(backend) == "idle"  # its statement was cancelled, the backend kept
    finally:
        await asyncio.wait_for(pool.close(), timeout=30)


@pytest.mark.usefixtures("databases")
async def test_stopping_the_single_flight_cancels_the_reads_of_main_in_progress(settings: Settings) -> None:
    pool = await create_pool(msgspec.structs.replace(settings, db_pool_min_size=1, db_pool_max_size=1))
    flight: SingleFlight[None] = SingleFlight()

    async def slow_read() -> None:
        await pool.execute("SELECT pg_sleep(60) /* slow state read */")

    try:
        flight.start("user-1", slow_read)
        backend = await _wait_for_statement("%slow state read%")
        assert len(flight) == 1
        await asyncio.wait_for(flight.stop(), timeout=30)
        assert len(flight) == 0
        assert pool.get_idle_size() == pool.get_size() == 1
        assert _backend_state(backend) == "idle"
    finally:
        await asyncio.wait_for(pool.close(), timeout=30)


@pytest.mark.usefixtures("databases")
async def test_a_workers_shutdown_stops_its_background_reads_before_closing_its_pools(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lifespan's order: a read of main in the background (a user's state on a slow main) is
    cancelled first, so the pool closes at once; it is not left running until the pool close gives
    up waiting for its connection and terminates it."""
    monkeypatch.setattr(db, "POOL_CLOSE_TIMEOUT_S", 5.0)
    app = create_app(settings)
    outcome: list[str] = []
    async with app.lifespan():  # startup and shutdown in this test's event loop
        clients: Clients = app.state[STATE_KEY]

        async def slow_read() -> None:
            try:
                await clients.pool.execute("SELECT pg_sleep(60) /* slow read at shutdown */")
            except asyncio.CancelledError:
                outcome.append("cancelled")
                raise
            except Exception as error:
                outcome.append(type(error).__name__)
                raise

        clients.state_reads.start("user-1", slow_read)
        await _wait_for_statement("%slow read at shutdown%")
    assert outcome == ["cancelled"]
    assert len(clients.state_reads) == 0
