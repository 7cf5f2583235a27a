"""asyncpg pool for the recommendations database and the one helper that calls an api.* function."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from service.settings import Settings

APPLICATION_NAME = "mysanta-recs-api"


async def _init_connection(connection: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def create_pool(settings: Settings) -> asyncpg.Pool:
    """Open the app's pool (least-privilege role, bounded statement time)."""
    pool = await asyncpg.create_pool(
        dsn=settings.recommendations_database_url,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        init=_init_connection,
        timeout=5,
        command_timeout=settings.db_statement_timeout_ms / 1000 + 1,
        server_settings={
            "application_name": APPLICATION_NAME,
            "statement_timeout": str(settings.db_statement_timeout_ms),
            "idle_in_transaction_session_timeout": "60000",
        },
    )
    assert pool is not None
    return pool


async def call_api(pool: asyncpg.Pool, function: str, *args: Any) -> list[asyncpg.Record]:
    """Run `SELECT * FROM api.<function>($1, ...)`; the only way handlers reach the database."""
    if not function.isidentifier():
        raise ValueError(f"not an api function name: {function!r}")
    placeholders = ", ".join(f"${index}" for index in range(1, len(args) + 1))
    rows: list[asyncpg.Record] = await pool.fetch(f"SELECT * FROM api.{function}({placeholders})", *args)
    return rows


async def data_version(pool: asyncpg.Pool, name: str) -> int:
    """The current version of a derived dataset ('popular', 'profiles', ...): part of cache keys."""
    rows = await call_api(pool, "data_versions")
    return next((int(row["version"]) for row in rows if row["name"] == name), 0)
