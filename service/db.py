"""asyncpg pool for the recommendations database and the helpers that call an api.* function."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar

import asyncpg
import msgspec

from service.settings import Settings

log = logging.getLogger("service.db")

APPLICATION_NAME = "mysanta-recs-api"
Row = TypeVar("Row")
_PG_DATE_EPOCH = datetime.date(2000, 1, 1).toordinal()  # PostgreSQL's binary dates count days from it
_PG_DATE_INFINITY = 2**31 - 1


def _encode_date(value: datetime.date) -> tuple[int]:
    return (value.toordinal() - _PG_DATE_EPOCH,)


def _decode_date(value: tuple[int]) -> datetime.date:
    """A stored date; ±infinity, or a date beyond Python's years 1-9999, as date.min / date.max."""
    ordinal = value[0] + _PG_DATE_EPOCH
    if ordinal < 1:
        return datetime.date.min
    if value[0] >= _PG_DATE_INFINITY or ordinal > datetime.date.max.toordinal():
        return datetime.date.max
    return datetime.date.fromordinal(ordinal)


async def _init_connection(connection: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )
    # Ids travel as text: a uuid column is the string the JSON responses carry (no conversion per
    # item), and a parameter may be a str or a UUID.
    await connection.set_type_codec("uuid", encoder=str, decoder=str, schema="pg_catalog", format="text")
    # A date is the date: asyncpg's own codec sends date.min and date.max (0001-01-01, 9999-12-31,
    # birth dates a client may send) as -infinity and infinity.
    await connection.set_type_codec(
        "date", encoder=_encode_date, decoder=_decode_date, schema="pg_catalog", format="tuple"
    )


class BoundedPool(asyncpg.Pool):  # type: ignore[misc]  # asyncpg ships no type hints
    """asyncpg's pool, where waiting for a free connection is bounded too: past acquire_timeout_s
    the caller gets TimeoutError (a 503), so one slow path that holds every connection cannot make
    the others queue without end."""

    def __init__(self, *args: Any, acquire_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout_s = acquire_timeout_s

    def acquire(self, *, timeout: float | None = None) -> Any:
        """A connection within timeout (default: acquire_timeout_s)."""
        return super().acquire(timeout=self.acquire_timeout_s if timeout is None else timeout)


# What a server answers a new connection it refuses: class 28 (the role's password or LOGIN),
# 42501 (CONNECT revoked), 3D000 (the database renamed or dropped), class 53 (no connection slots
# left), 57P (shutting down, starting up). Another error at connect (a setting the server does not
# know, 42704) is the app's own configuration: it stays what it is, a 500 with its traceback.
_REFUSALS = ("28", "42501", "3D000", "53", "57P")


class DatabaseRefusedConnection(ConnectionError):
    """The recs database refused a new connection of the pool (_REFUSALS): to this app the database
    is unreachable, a 503 as when the server is down (an error raised inside a call keeps its
    SQLSTATE's mapping)."""

    def __init__(self, error: asyncpg.PostgresError) -> None:
        super().__init__(f"{error.sqlstate}: {error}")
        self.sqlstate: str = error.sqlstate


async def _connect(*args: Any, **kwargs: Any) -> asyncpg.Connection:
    """asyncpg.connect for the pool, with the server refusing the connection raised as
    DatabaseRefusedConnection: a refusal and an error of a call are the same asyncpg exceptions."""
    try:
        return await asyncpg.connect(*args, **kwargs)
    except asyncpg.PostgresError as error:
        if str(error.sqlstate).startswith(_REFUSALS):
            raise DatabaseRefusedConnection(error) from error
        raise


async def _keep_session(connection: asyncpg.Connection) -> None:
    """What a connection needs before it goes back to the pool beyond asyncpg's rollback of an
    open transaction: nothing. asyncpg's default sends `RESET ALL; CLOSE ALL; UNLISTEN *;
    pg_advisory_unlock_all()`, a second round trip per call (and backend CPU) that undoes nothing
    here: the app's calls keep no cursor, listener or session lock, and change settings only for
    their transaction (set_config(..., true), functions' own SET clauses)."""


async def create_pool(
    settings: Settings,
    url: str | None = None,
    min_size: int | None = None,
    max_size: int | None = None,
    acquire_timeout_s: float | None = None,
) -> asyncpg.Pool:
    """Open the app's pool (least-privilege role, bounded statement time and acquire wait) on the
    primary, or on the server of url (a standby), with min_size connections open from the start,
    at most max_size, and waits for one bounded by acquire_timeout_s (defaults: DB_POOL_MIN_SIZE,
    DB_POOL_MAX_SIZE, DB_POOL_ACQUIRE_TIMEOUT_MS).

    The min_size connections are kept open: asyncpg reopens one that closed in the background, with
    a backoff while the server refuses. Requests then seldom wait for a connection to be opened,
    which the acquire wait would cut short: with a recs DB a few tens of ms away, opening one takes
    longer than the wait, and a pool that had to grow on demand never could. Beyond min_size,
    connections are opened on demand; then idle ones are closed after 5 minutes (and the kept ones
    reopened)."""
    min_open = settings.pool_min_size if min_size is None else min_size
    max_open = settings.db_pool_max_size if max_size is None else max_size
    pool = BoundedPool(
        url or settings.recommendations_database_url,
        acquire_timeout_s=(
            settings.db_pool_acquire_timeout_ms / 1000 if acquire_timeout_s is None else acquire_timeout_s
        ),
        min_size=min_open,
        max_size=max_open,
        max_queries=50_000,
        # Idle connections are closed only where the pool may hold more than it keeps open.
        max_inactive_connection_lifetime=0.0 if min_open >= max_open else 300.0,
        connect=_connect,
        init=_init_connection,
        reset=_keep_session,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        timeout=5,
        command_timeout=settings.db_statement_timeout_ms / 1000 + 1,
        server_settings={
            "application_name": APPLICATION_NAME,
            "statement_timeout": str(settings.db_statement_timeout_ms),
            "idle_in_transaction_session_timeout": "60000",
            # A backend whose client is gone (a call given up on, below) stops within a second,
            # and its FDW query on main is cancelled with it.
            "client_connection_check_interval": "1000",
        },
    )
    await pool
    return pool


# How long a worker's shutdown waits for the pool's connections to come back before it closes them
# anyway: a call still holding one (the background work stopped first, see cancel_and_wait, gives
# its connection back at once; this bounds what is left) must not keep the worker from exiting.
POOL_CLOSE_TIMEOUT_S = 10.0


async def close_pool(pool: asyncpg.Pool) -> None:
    """Close the pool gracefully (asyncpg waits for every connection to be released), within
    POOL_CLOSE_TIMEOUT_S; past it, asyncpg terminates the connections still out (what cancelling
    Pool.close does) and the shutdown goes on, with a warning."""
    try:
        async with asyncio.timeout(POOL_CLOSE_TIMEOUT_S):
            await pool.close()
    except TimeoutError:
        log.warning("db.pool_close_timeout", extra={"seconds": POOL_CLOSE_TIMEOUT_S})


def api_query(function: str, arg_count: int) -> str:
    """`SELECT * FROM api.<function>($1, ...)`: the one statement handlers send (function checked)."""
    if not function.isidentifier():
        raise ValueError(f"not an api function name: {function!r}")
    placeholders = ", ".join(f"${index}" for index in range(1, arg_count + 1))
    return f"SELECT * FROM api.{function}({placeholders})"


async def call_api(pool: asyncpg.Pool, function: str, *args: Any) -> list[asyncpg.Record]:
    """Run api.<function>(*args) on a pool connection; the only way handlers reach the database."""
    rows: list[asyncpg.Record] = await pool.fetch(api_query(function, len(args)), *args)
    return rows


class CallTimedOut(TimeoutError):
    """An api.* call gave no answer within its own time limit (not a wait for a free connection)."""


# Connections whose call was given up on and that wait, in the background, for the cancelled
# statement to end before they go back to the pool (_given_up_on_timeout).
_cancelling: set[asyncio.Task[None]] = set()


@contextlib.asynccontextmanager
async def _given_up_on_timeout(
    pool: asyncpg.Pool, timeout_s: float | None, function: str, cancel_grace_s: float
) -> AsyncIterator[asyncpg.Connection]:
    """A pool connection for a call with its own time limit: past it, CallTimedOut (after the
    rollback of fetch_row_with_overrides's transaction, which measured immediate). With
    cancel_grace_s, the statement is cancelled (asyncpg sends the cancel on the timeout) and the
    connection goes back to the pool once it has ended, in the background; if it has not ended
    within cancel_grace_s, or without a grace, the connection is closed (its backend notices and
    stops; the pool opens a fresh one). A grace keeps what the backend holds: a warm FDW
    connection to main, which a fresh backend would open again, paying every round trip of a
    connection to a distant main, and which main would see as one more connection."""
    connection = await pool.acquire()
    try:
        yield connection
    except TimeoutError:
        if cancel_grace_s > 0:
            task = asyncio.ensure_future(pool.release(connection, timeout=cancel_grace_s))
            _cancelling.add(task)
            task.add_done_callback(_end_cancelling)
        else:
            connection.terminate()
            await pool.release(connection)
        limit = "its statement timeout" if timeout_s is None else f"{timeout_s:g} s"
        raise CallTimedOut(f"api.{function} gave no answer within {limit}") from None
    except BaseException:
        await pool.release(connection)
        raise
    await pool.release(connection)


def _end_cancelling(task: asyncio.Task[None]) -> None:
    """A connection given up on is back in the pool, or was closed (asyncpg closes a connection whose
    release times out, and raises: that is the expected end here, not an error)."""
    _cancelling.discard(task)
    if not task.cancelled():
        task.exception()


async def fetch_row_within(
    pool: asyncpg.Pool,
    timeout_s: float,
    into: type[Row],
    function: str,
    *args: Any,
    cancel_grace_s: float = 0.0,
) -> Row:
    """fetch_row, given up after timeout_s (_given_up_on_timeout)."""
    query = api_query(function, len(args))
    async with _given_up_on_timeout(pool, timeout_s, function, cancel_grace_s) as connection:
        row = await connection.fetchrow(query, *args, timeout=timeout_s)
    return msgspec.convert(dict(row), into)


async def fetch_row_on_own_connection(
    settings: Settings, statement_timeout_s: int, into: type[Row], function: str, *args: Any
) -> Row:
    """The single row of api.<function>(*args) on a connection of its own whose statement_timeout
    is statement_timeout_s, set before the call (for the long calls the pool's timeout would cut:
    admin job runs), then closed; no pool connection is held meanwhile."""
    query = api_query(function, len(args))
    connection = await _connect(
        settings.recommendations_database_url,
        timeout=5,
        server_settings={
            "application_name": APPLICATION_NAME,
            "statement_timeout": str(statement_timeout_s * 1000),
        },
    )
    try:
        row = await connection.fetchrow(query, *args)
    finally:
        await connection.close(timeout=5)
    return msgspec.convert(dict(row), into)


async def fetch_rows(pool: asyncpg.Pool, into: type[Row], function: str, *args: Any) -> list[Row]:
    """api.<function>(*args), each row converted into the struct `into` by column name (extra columns
    are ignored): the one way rows become structs."""
    return [msgspec.convert(dict(row), into) for row in await call_api(pool, function, *args)]


async def fetch_row(pool: asyncpg.Pool, into: type[Row], function: str, *args: Any) -> Row:
    """The single row of api.<function>(*args) as the struct `into`."""
    rows = await fetch_rows(pool, into, function, *args)
    return rows[0]


async def fetch_row_with_overrides(
    pool: asyncpg.Pool,
    overrides: str,
    into: type[Row],
    function: str,
    *args: Any,
    timeout_s: float | None = None,
    cancel_grace_s: float = 0.0,
) -> Row:
    """The single row of api.<function>(*args) ranked with an experiment variant's overrides of
    recs.settings: in one transaction whose local recs.setting_overrides (read by recs.setting) is
    the JSON object `overrides`, so they reach no other call on the connection. With timeout_s, given
    up after it as fetch_row_within gives up."""
    query = api_query(function, len(args))
    async with _given_up_on_timeout(pool, timeout_s, function, cancel_grace_s) as connection:
        async with connection.transaction():
            await connection.execute("SELECT set_config('recs.setting_overrides', $1, true)", overrides)
            row = await connection.fetchrow(query, *args, timeout=timeout_s)
    return msgspec.convert(dict(row), into)


class Reread:
    """Something a worker keeps from the database, reread by `read` at most once per max_age_s (0: on
    every call). Past half that age, the next call starts a reread in the background and goes on
    with what it has, so a busy worker's requests never wait for it; only what is older than
    max_age_s (or never read) is waited for. One reread at a time per worker; a reread that raises
    leaves the age as it was, so the next call tries again."""

    def __init__(self, max_age_s: float, read: Callable[[asyncpg.Pool], Awaitable[None]]) -> None:
        self.max_age_s = max_age_s
        self._read = read
        self._read_at: float | None = None
        self._reading: asyncio.Task[None] | None = None

    async def ensure(self, pool: asyncpg.Pool) -> None:
        """Reread now, in the background or not at all, by the age of the last read."""
        if self.max_age_s <= 0:  # reread for this call, never share an older read
            await self._timed_read(pool)
            return
        age = None if self._read_at is None else time.monotonic() - self._read_at
        if age is None or age >= self.max_age_s:
            await asyncio.shield(self._start_reading(pool))
        elif age >= self.max_age_s / 2:
            self._start_reading(pool)

    def _start_reading(self, pool: asyncpg.Pool) -> asyncio.Task[None]:
        """The reread in progress, or a new one."""
        if self._reading is None or self._reading.done():
            self._reading = asyncio.ensure_future(self._timed_read(pool))
            self._reading.add_done_callback(_retrieved)
        return self._reading

    async def stop(self) -> None:
        """Cancel a reread in progress and wait for its connection to be back in its pool (a worker's
        shutdown, before the pool closes; the server has drained the requests by then, so none
        awaits the reread and sees it cancelled)."""
        if self._reading is not None:
            await cancel_and_wait([self._reading])

    async def _timed_read(self, pool: asyncpg.Pool) -> None:
        started = time.monotonic()
        await self._read(pool)
        # What was read first, then the time: no caller sees a fresh time with stale contents.
        self._read_at = started


class DataVersions:
    """The current version of each derived dataset ('popular', 'profiles', ...), part of cache keys,
    reread as Reread says: a cache hit costs no database round trip, and a refresh shows within
    max_age_seconds."""

    def __init__(self, max_age_seconds: float) -> None:
        self._versions: dict[str, int] = {}
        self._reread = Reread(max_age_seconds, self._read)

    @property
    def max_age_seconds(self) -> float:
        """How old the versions a request is answered with may be (0: reread for every call)."""
        return self._reread.max_age_s

    @max_age_seconds.setter
    def max_age_seconds(self, seconds: float) -> None:
        self._reread.max_age_s = seconds

    async def get(self, pool: asyncpg.Pool, name: str) -> int:
        """The version of name (0 before its first refresh)."""
        await self._reread.ensure(pool)
        return self._versions.get(name, 0)

    async def stop(self) -> None:
        """Cancel a background reread (Reread.stop)."""
        await self._reread.stop()

    async def _read(self, pool: asyncpg.Pool) -> None:
        rows = await call_api(pool, "data_versions")
        self._versions = {str(row["name"]): int(row["version"]) for row in rows}


async def cancel_and_wait(tasks: Iterable[asyncio.Future[Any]]) -> None:
    """Cancel the background tasks still running and wait until each has unwound: a task cancelled
    inside a pool call gives its connection back on the way out, so the pool then closes without
    waiting for it (a worker's shutdown, whose pool close would otherwise wait for a slow read)."""
    running = [task for task in tasks if not task.done()]
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)


def _retrieved(task: asyncio.Task[None]) -> None:
    """A background reread that failed is not an error of its own: the next call that needs the
    versions rereads them and gets the error."""
    if not task.cancelled():
        task.exception()
