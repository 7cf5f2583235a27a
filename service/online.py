"""Online measurement in the app: each response's recommendation id, users' experiment variants, and
the served-page recorder (a bounded in-memory buffer flushed in batches to api.record_served)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
from prometheus_client import Counter

from service.db import Reread, call_api
from service.throttled_log import ThrottledLog

log = logging.getLogger("service.online")

BUFFER_CAPACITY = 10_000  # served pages waiting for a flush; past it a page is dropped (and counted)
BATCH_SIZE = 500  # a flush starts early once this many wait
FLUSH_INTERVAL_S = 1.0
STOP_FLUSH_S = 5.0  # what waits at a worker's shutdown is stored within this, or dropped

SERVED_PAGES = Counter(
    "mysanta_served_pages_total",
    "Recommendation responses by what the recorder did with them: recorded (stored in recs.served_pages), "
    "anonymous (no user: nothing to credit, not stored), sampled_out (the user is outside the "
    "online_record_share sample), dropped "
    "(buffer full) or failed (the batch insert failed).",
    ["outcome"],
)  # fmt: skip


@dataclass(frozen=True)
class Variant:
    """The experiment variant a user is in: its names, its overrides of recs.settings as the JSON
    text recs.setting reads (None when it overrides nothing) and the tag its cached pages carry
    (the overrides' digest too, so an edited variant never serves pages ranked before)."""

    experiment: str
    name: str
    overrides: str | None
    cache_tag: str


class VariantRow(msgspec.Struct, kw_only=True):
    """One variant as api.online_config lists it."""

    variant: str
    share: float
    overrides: dict[str, str]


class OnlineConfig(msgspec.Struct, kw_only=True):
    """api.online_config: the share of responses to record and the running experiment."""

    record_share: float
    experiment: str | None
    variants: list[VariantRow]


def experiment_bucket(experiment: str, user_id: str) -> int:
    """A user's place in [0, 2^32) for an experiment: the first 32 bits of md5('<experiment>:<user
    id>'), as recs.experiment_bucket computes it (times 2^32)."""
    digest = hashlib.md5(f"{experiment}:{user_id}".encode(), usedforsecurity=False).hexdigest()
    return int(digest[:8], 16)


class Experiment:
    """The running experiment: the variants in name order share [0, 1) by their shares; a user is in
    the variant their bucket falls in, or in none past the sum of the shares."""

    def __init__(self, name: str, rows: Iterable[VariantRow]) -> None:
        self.name = name
        self._bounds: list[tuple[float, Variant]] = []
        upto = 0.0
        for row in sorted(rows, key=lambda row: row.variant):
            upto += row.share
            overrides = json.dumps(row.overrides, sort_keys=True) if row.overrides else None
            digest = hashlib.sha256((overrides or "").encode()).hexdigest()[:12]
            variant = Variant(name, row.variant, overrides, f"{name}/{row.variant}/{digest}")
            self._bounds.append((upto * 2**32, variant))

    def variant_of(self, user_id: str) -> Variant | None:
        """The user's variant, or None."""
        bucket = experiment_bucket(self.name, user_id)
        for upto, variant in self._bounds:
            if bucket < upto:
                return variant
        return None


def recording_point(user_id: str) -> float:
    """A user's place in [0, 1) for the recording sample: CRC-32 of the user id's text over 2^32,
    the same in every worker and instance. A user whose place is below online_record_share has
    every page recorded, the others none: a click is then credited to the page that showed the
    present, never to an older recorded one because the page in between was not sampled."""
    return zlib.crc32(user_id.encode()) / 4294967296


_VARIANT_DIGIT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


class RecommendationIds:
    """Recommendation ids: UUIDv7 (RFC 9562), 48 bits of Unix milliseconds then 74 random bits, so
    the ids of recs.served_pages' primary key arrive in time order (inserted at the index's right
    edge, not at random pages of it) and the ids are cheap to make: the random bits come from
    os.urandom in blocks (one system call per 409 ids), none from uuid.UUID."""

    BLOCK = 4090  # bytes of randomness per os.urandom call: 10 per id

    def __init__(self) -> None:
        self._random = ""
        self._at = 0

    def new(self) -> str:
        """A new id, as text."""
        if self._at >= len(self._random):
            self._random, self._at = os.urandom(self.BLOCK).hex(), 0
        r = self._random[self._at : self._at + 20]
        self._at += 20
        ms = f"{time.time_ns() // 1_000_000:012x}"
        return f"{ms[:8]}-{ms[8:]}-7{r[:3]}-{_VARIANT_DIGIT[r[3]]}{r[4:7]}-{r[7:19]}"


# A page waiting for a flush: recommendation id, Unix time, route, user id, algorithm, variant, body.
ServedPage = tuple[str, float, str, str | None, str, Variant | None, bytes]


class ItemsOnly(msgspec.Struct):
    """The items of a cached page body (the other fields are skipped, not decoded)."""

    items: list[str]


_items_decoder = msgspec.json.Decoder(ItemsOnly)
# The batch as parallel arrays, one element per page; the ids (the pages' and their presents') go as
# one comma-separated text each, split and parsed by the database: asyncpg's encoding of a uuid[]
# costs the worker's event loop about 0.7 µs per element, the database's parse about 0.4 µs.
RECORD_QUERY = (
    "SELECT * FROM api.record_served(string_to_array($1, ',')::uuid[], $2, $3, $4, $5, $6, $7, $8,"
    " string_to_array($9, ',')::uuid[])"
)


class ServedRecorder:
    """What a worker served, recorded off the request path.

    Each response gets a recommendation id; the pages of online_record_share of the users
    (recording_point) are appended, as a reference to the page bytes the response already holds, to
    a buffer of at most `capacity` pages (a page
    past that is dropped and counted, never waited for). A background task flushes the buffer every
    flush_interval_s, or as soon as batch_size pages wait, in one call of api.record_served; a
    failed batch is logged and counted, not retried. The configuration (the share and the running
    experiment, api.online_config) is reread at most once per config_max_age_s, as the data
    versions are (0: for every request); until it is first read, nothing is recorded and no user
    is in a variant.
    """

    def __init__(
        self, config_max_age_s: float, capacity: int = BUFFER_CAPACITY, batch_size: int = BATCH_SIZE,
        flush_interval_s: float = FLUSH_INTERVAL_S,
    ) -> None:  # fmt: skip
        self.capacity, self.batch_size, self.flush_interval_s = capacity, batch_size, flush_interval_s
        self.record_share = 0.0
        self.experiment: Experiment | None = None
        self._config = Reread(config_max_age_s, self._read_config)
        # Every request rereads a configuration that is due: during an outage, one line per 10 s.
        self._config_unavailable = ThrottledLog(log, "online.config_unavailable", "reads", interval_s=10)
        self._buffer: list[ServedPage] = []
        self._pool: asyncpg.Pool | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._ids = RecommendationIds()
        self._sampled_out = 0
        self._anonymous = 0
        self._dropped = 0

    def start(self, pool: asyncpg.Pool) -> None:
        """Attach the worker's pool and start flushing in the background."""
        self._pool = pool
        self._flusher = asyncio.ensure_future(self._flush_forever())

    async def stop(self) -> None:
        """Stop the background task, then flush what waits, within STOP_FLUSH_S (the rest is
        dropped and counted: a worker's shutdown never waits long for recording); a reread of the
        configuration in progress is cancelled."""
        self._stopping = True
        await self._config.stop()
        self._wake.set()
        if self._flusher is not None:
            await asyncio.wait({self._flusher}, timeout=STOP_FLUSH_S)
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        try:
            async with asyncio.timeout(STOP_FLUSH_S):
                await self.flush()
        except TimeoutError:
            self._dropped += len(self._buffer)
            self._buffer = []
            self._count_unrecorded()

    async def variant_of(self, pool: asyncpg.Pool, user_id: str) -> Variant | None:
        """The user's variant in the running experiment (configuration reread when due), or None."""
        await self.refresh(pool)
        return None if self.experiment is None else self.experiment.variant_of(user_id)

    async def refresh(self, pool: asyncpg.Pool) -> None:
        """Reread the configuration when due (db.Reread: past half its age in the background)."""
        await self._config.ensure(pool)

    async def _read_config(self, pool: asyncpg.Pool) -> None:
        """Read api.online_config; when it cannot be read, keep the configuration in use until the
        next reread is due (recording and experiments never fail a request)."""
        try:
            row = (await call_api(pool, "online_config"))[0]
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as error:
            self._config_unavailable.record("config", error=repr(error))
            return
        config = msgspec.convert(dict(row), OnlineConfig)
        self.record_share = config.record_share
        running = config.experiment
        self.experiment = None if running is None else Experiment(running, config.variants)

    def served(
        self, route: str, user_id: str | None, algorithm: str, variant: Variant | None, body: bytes
    ) -> str:
        """A new recommendation id for a response of the page body; the page is kept for the next
        flush when it has a user (an anonymous page cannot be credited with anyone's clicks, so
        storing it would cost the database for nothing) in the recording sample and the buffer has
        room."""
        recommendation_id = self._ids.new()
        share = self.record_share
        if user_id is None:
            self._anonymous += 1
        elif share <= 0 or (share < 1 and recording_point(user_id) >= share):
            self._sampled_out += 1
        elif len(self._buffer) >= self.capacity:
            self._dropped += 1
        else:
            self._buffer.append((recommendation_id, time.time(), route, user_id, algorithm, variant, body))
            if len(self._buffer) >= self.batch_size:
                self._wake.set()
        return recommendation_id

    async def _flush_forever(self) -> None:
        while not self._stopping:
            # asyncio.timeout, not wait_for: a cancellation that meets a wake-up is never lost.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.flush_interval_s):
                    await self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.flush()
            except Exception:  # never let one bad flush stop the recording for good
                log.exception("online.flush_error")

    def _count_unrecorded(self) -> None:
        """Add the pages left anonymous, sampled out and dropped since the last call to their series."""
        sampled_out, self._sampled_out = self._sampled_out, 0
        anonymous, self._anonymous = self._anonymous, 0
        if anonymous:
            SERVED_PAGES.labels("anonymous").inc(anonymous)
        dropped, self._dropped = self._dropped, 0
        if sampled_out:
            SERVED_PAGES.labels("sampled_out").inc(sampled_out)
        if dropped:
            SERVED_PAGES.labels("dropped").inc(dropped)
            log.warning("online.buffer_full", extra={"dropped": dropped, "capacity": self.capacity})

    async def flush(self) -> int:
        """Store what waits, batch_size pages per api.record_served call (the event loop serves
        requests between them); the pages stored."""
        self._count_unrecorded()
        stored = 0
        while self._buffer and self._pool is not None:
            pending, self._buffer = self._buffer[: self.batch_size], self._buffer[self.batch_size :]
            stored += await self._store(self._pool, pending)
        return stored

    async def _store(self, pool: asyncpg.Pool, pending: list[ServedPage]) -> int:
        """One api.record_served call for these pages; the pages stored (0 when it failed)."""
        try:
            await pool.fetch(RECORD_QUERY, *batch_arrays(pending))
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as error:
            SERVED_PAGES.labels("failed").inc(len(pending))
            log.warning("online.record_failed", extra={"pages": len(pending), "error": repr(error)})
            return 0
        SERVED_PAGES.labels("recorded").inc(len(pending))
        return len(pending)


def batch_arrays(pending: list[ServedPage]) -> tuple[Any, ...]:
    """RECORD_QUERY's arguments for these pages: one list per field (an element per page) but the
    recommendation ids, which go as one comma-separated text, the number of presents on each page,
    and the presents of every page as one comma-separated text (decoded here, off the request path,
    by a struct that reads `items` only)."""
    ids: list[str] = []
    times: list[float] = []
    routes: list[str] = []
    users: list[str | None] = []
    algorithms: list[str] = []
    experiments: list[str | None] = []
    variants: list[str | None] = []
    counts: list[int] = []
    items: list[str] = []
    for recommendation_id, at, route, user_id, algorithm, variant, body in pending:
        page_items = _items_decoder.decode(body).items
        ids.append(recommendation_id)
        times.append(at)
        routes.append(route)
        users.append(user_id)
        algorithms.append(algorithm)
        experiments.append(None if variant is None else variant.experiment)
        variants.append(None if variant is None else variant.name)
        counts.append(len(page_items))
        items.extend(page_items)
    return ",".join(ids), times, routes, users, algorithms, experiments, variants, counts, ",".join(items)
