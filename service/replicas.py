"""Read routing to PostgreSQL hot standbys: api.* reads go to a standby close enough to the primary,
writes and everything else to the primary; a standby that lags or is down is skipped."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

import asyncpg
from prometheus_client import Counter, Gauge

from service.cache import Cache, write_position_key
from service.db import DataVersions, call_api, close_pool, create_pool
from service.dsn import parse_pg_url
from service.settings import Settings

log = logging.getLogger("service.replicas")
Result = TypeVar("Result")
ReplicaStatus = Literal["up", "lagging", "down", "not_standby", "unchecked"]
PRIMARY = "primary"
# A read-your-writes position no standby has: the user's reads go to the primary (Redis could not say).
UNKNOWN_POSITION = 2**63 - 1
# A standby's check waits at most this long (or REPLICA_CHECK_MS, if shorter) for an answer.
CHECK_TIMEOUT_S = 1.0

REPLICA_USABLE = Gauge(
    "mysanta_replica_usable", "1 while reads go to this standby (up and within REPLICA_MAX_LAG_MS), else 0.",
    ["replica"], multiprocess_mode="livemin",
)  # fmt: skip
REPLICA_LAG_SECONDS = Gauge(
    "mysanta_replica_lag_seconds",
    "How far the standby's replay is behind the primary, as time (-1 while it cannot be measured).",
    ["replica"], multiprocess_mode="livemax",
)  # fmt: skip
DB_READS = Counter(
    "mysanta_db_reads_total", "Database reads of the recommendation routes by where they ran.", ["target"],
)  # fmt: skip


def replica_name(url: str) -> str:
    """A standby's name in reports: host:port/dbname (never its credentials)."""
    parts = parse_pg_url(url)
    return f"{parts.host}:{parts.port}/{parts.dbname}"


def replica_failed(error: BaseException) -> bool:
    """Whether an error says the standby (not the request) failed, so the read is worth repeating
    on the primary: no connection or no free one in time, the server shutting down or starting
    (SQLSTATE 57P01-57P03), a connection error (class 08), or a query cancelled by a conflict with
    recovery (40001)."""
    if isinstance(error, asyncpg.PostgresError):
        sqlstate = str(getattr(error, "sqlstate", ""))
        return sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03", "40001")
    return isinstance(error, asyncpg.InterfaceError | OSError | TimeoutError)


@dataclass
class ReadTarget:
    """A server reads can run on: its pool and its own data versions (a page is keyed on the
    versions of the server it was ranked on, never on newer ones read elsewhere)."""

    name: str
    pool: asyncpg.Pool | None
    versions: DataVersions
    url: str = ""
    status: ReplicaStatus = "unchecked"
    lag_ms: float | None = None
    wal_position: int = 0
    reads: int = 0

    @property
    def is_primary(self) -> bool:
        """True for the primary."""
        return self.name == PRIMARY


class ReadRouter:
    """Where this worker's reads go.

    Every REPLICA_CHECK_MS a background task reads the primary's WAL insert position, then each
    standby's replayed position (api.replication_position; one cheap call per server, never one per
    request). A standby's lag is the time since the primary first stood past the position the
    standby has replayed (from a short history of the primary's positions), so an idle primary
    shows no lag. A standby is used while it answers and lags at most REPLICA_MAX_LAG_MS; reads
    are spread over the usable ones in turn, and go to the primary when there are none. A read
    that fails because its standby failed marks it down and runs again on the primary.
    """

    def __init__(
        self, settings: Settings, primary_pool: asyncpg.Pool, primary_versions: DataVersions
    ) -> None:
        self.settings = settings
        self.max_lag_s = settings.replica_max_lag_ms / 1000
        self.check_s = settings.replica_check_ms / 1000
        self.primary = ReadTarget(PRIMARY, primary_pool, primary_versions, status="up")
        self.replicas = [
            ReadTarget(replica_name(url), None, DataVersions(primary_versions.max_age_seconds), url=url)
            for url in settings.recommendations_replica_urls
        ]
        self._turn = itertools.count()
        # (monotonic time, primary WAL position) samples, kept long enough to measure REPLICA_MAX_LAG_MS.
        self._primary_positions: deque[tuple[float, int]] = deque()
        self._checker: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        """True when standbys are configured."""
        return bool(self.replicas)

    async def start(self) -> None:
        """Check every standby once (so the first requests may use them), then keep checking."""
        if not self.replicas:
            return
        await self.check()
        self._checker = asyncio.ensure_future(self._check_forever())

    async def stop(self) -> None:
        """Stop checking, stop the standbys' background rereads and close their pools."""
        if self._checker is not None:
            self._checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checker
        for replica in self.replicas:
            await replica.versions.stop()
            if replica.pool is not None:
                await close_pool(replica.pool)

    def reader(self, min_position: int | None = None) -> ReadTarget:
        """A usable standby that has replayed min_position (when given), in turn; else the primary."""
        usable = [
            replica for replica in self.replicas
            if replica.status == "up" and (min_position is None or replica.wal_position >= min_position)
        ]  # fmt: skip
        if not usable:
            return self.primary
        return usable[next(self._turn) % len(usable)]

    async def run(
        self, call: Callable[[ReadTarget], Awaitable[Result]], min_position: int | None = None
    ) -> Result:
        """call(target) on the reader; when its standby fails under it, marked down and run on the primary."""
        target = self.reader(min_position)
        target.reads += 1
        if target.is_primary:
            return await call(target)
        try:
            return await call(target)
        except Exception as error:
            if not replica_failed(error):
                raise
            self._mark_down(target, error)
        self.primary.reads += 1
        return await call(self.primary)

    @property
    def write_window_ms(self) -> int:
        """How long a user's write position is kept: past it, any standby still in use has replayed
        the write (its lag, at most REPLICA_MAX_LAG_MS as of a check at most REPLICA_CHECK_MS old and
        measured to within one more check, is shorter), with a second's margin."""
        return self.settings.replica_max_lag_ms + 3 * self.settings.replica_check_ms + 1000

    async def run_for_user(
        self, cache: Cache, user_id: str, call: Callable[[ReadTarget], Awaitable[Result]]
    ) -> Result:
        """run(call) for a read of one user's data: on a standby only once it has replayed the user's
        last write through this service (read-your-writes; the primary when Redis cannot say)."""
        if not self.replicas:
            return await self.run(call)
        position = await cache.write_position(write_position_key(user_id))
        return await self.run(call, UNKNOWN_POSITION if position is None else position or None)

    async def remember_write(self, cache: Cache, user_id: str) -> None:
        """After a write of the user's data on the primary: the primary's WAL position (past the
        write's commit), kept in Redis for write_window_ms so the user's next reads wait for it."""
        if not self.replicas:
            return
        row = (await call_api(self.primary.pool, "replication_position"))[0]
        await cache.remember_write_position(
            write_position_key(user_id), int(row["wal_position"]), self.write_window_ms
        )

    def _mark_down(self, replica: ReadTarget, error: BaseException) -> None:
        if replica.status != "down":
            log.warning("replica.down", extra={"replica": replica.name, "error": repr(error)})
        replica.status, replica.lag_ms = "down", None

    async def _check_forever(self) -> None:
        while True:
            await asyncio.sleep(self.check_s)
            try:
                await self.check()
            except Exception:  # never let one bad check stop the checking for good
                log.exception("replica.check_error")

    async def check(self) -> None:
        """The primary's position, then each standby's status, lag and position."""
        now = time.monotonic()
        try:
            primary = (await call_api(self.primary.pool, "replication_position"))[0]
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as error:
            log.debug("replica.primary_position_unknown", extra={"error": repr(error)})
        else:
            self.primary.wal_position = int(primary["wal_position"])
            self._primary_positions.append((now, self.primary.wal_position))
            horizon = now - self.max_lag_s - 10 * self.check_s
            while len(self._primary_positions) > 2 and self._primary_positions[1][0] < horizon:
                self._primary_positions.popleft()
        await asyncio.gather(*(self._check_replica(replica) for replica in self.replicas))
        self._report()

    async def _check_replica(self, replica: ReadTarget) -> None:
        timeout_s = min(CHECK_TIMEOUT_S, self.check_s)
        try:
            if replica.pool is None:
                replica.pool = await asyncio.wait_for(self._open_pool(replica.url), timeout_s * 5)
            rows = await asyncio.wait_for(call_api(replica.pool, "replication_position"), timeout_s)
            row = rows[0]
        except Exception as error:
            if not replica_failed(error) and not isinstance(error, asyncpg.PostgresError):
                raise
            self._mark_down(replica, error)
            return
        was = replica.status
        if not row["in_recovery"]:
            replica.status, replica.lag_ms = "not_standby", None
        else:
            replica.wal_position = int(row["wal_position"])
            replica.lag_ms = self._lag_s(replica.wal_position) * 1000
            replica.status = "up" if replica.lag_ms <= self.max_lag_s * 1000 else "lagging"
        if replica.status != was:
            log.info("replica.status", extra={"replica": replica.name, "status": replica.status, "was": was})

    def _lag_s(self, position: int) -> float:
        """Seconds since the primary first stood past position, among the sampled positions (0 when
        no sample is past it)."""
        now = time.monotonic()
        for sampled_at, primary_position in self._primary_positions:
            if primary_position > position:
                return max(0.0, now - sampled_at)
        return 0.0

    async def _open_pool(self, url: str) -> asyncpg.Pool:
        """A pool on the standby, configured as the primary's (min size 0: a standby that is down at
        start costs nothing until it answers)."""
        return await create_pool(self.settings, url=url, min_size=0)

    def _report(self) -> None:
        """The standbys' state and the reads since the last report, into the Prometheus series."""
        for replica in self.replicas:
            REPLICA_USABLE.labels(replica.name).set(1 if replica.status == "up" else 0)
            lag_s = -1 if replica.lag_ms is None else replica.lag_ms / 1000
            REPLICA_LAG_SECONDS.labels(replica.name).set(lag_s)
        for target in (self.primary, *self.replicas):
            if target.reads:
                DB_READS.labels(PRIMARY if target.is_primary else "replica").inc(target.reads)
                target.reads = 0
