"""The app's pool (service/db.py): a connection goes back without asyncpg's reset query, so what a
call leaves must never reach the next: an open transaction is rolled back, and settings are only
ever transaction-local."""

from __future__ import annotations

import msgspec
import pytest

from service.db import create_pool, fetch_row_with_overrides
from service.settings import Settings

OVERRIDES = "SELECT current_setting('recs.setting_overrides', true)"


class Version(msgspec.Struct):
    """A row of api.data_versions."""

    name: str


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
