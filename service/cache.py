"""Redis client owned by the lifespan; a Redis failure is a cache miss, logged once per outage."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import redis.asyncio as redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MaxConnectionsError, RedisError, ResponseError

from service.settings import REDIS_CLUSTER_SCHEMES, Settings
from service.throttled_log import ThrottledLog

RedisClient = redis.Redis | RedisCluster  # one Redis, or a Redis Cluster (redis+cluster:// URLs)

log = logging.getLogger("service.cache")
KEY_PREFIX = "v9:"  # bumped whenever the format of a cached value or key changes
# What a user's personalised state key holds for a while after a write to the user (PUT or DELETE
# /user-profile): no state read before the write can be stored over it.
TOMBSTONE = b"tombstone"
TOMBSTONE_MS = 10_000
# KEYS[1] the user's state key; ARGV[1], ARGV[2]: the page key before and after the state token;
# ARGV[3] the tombstone. Returns nil when no state is stored, {tombstone} after a write, else
# {token, page or nil, the state's remaining lifetime in ms}.
PERSONALIZED_LOOKUP = """
local token = redis.call('GET', KEYS[1])
if not token then
    return nil
end
if token == ARGV[3] then
    return {token}
end
return {token, redis.call('GET', ARGV[1] .. token .. ARGV[2]), redis.call('PTTL', KEYS[1])}
"""
# KEYS[1] the user's state key; ARGV the state token, its lifetime in ms, the tombstone. Stores the
# token unless a write tombstoned the user since: 1 if stored, else 0.
_STORE_STATE = """
local stored = 0
if redis.call('GET', KEYS[1]) ~= ARGV[3] then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    stored = 1
end
"""
PERSONALIZED_STORE_STATE = _STORE_STATE + "return stored\n"
# PERSONALIZED_STORE_STATE, and then the page under the stored token in the same round trip:
# KEYS[1] the user's state key, KEYS[2] the page's key (the user's hash tag: the same slot); ARGV
# as PERSONALIZED_STORE_STATE's. Returns {1 if stored else 0, the page or false}.
PERSONALIZED_STORE_STATE_AND_GET = _STORE_STATE + "return {stored, redis.call('GET', KEYS[2])}\n"
# KEYS[1] key; ARGV value (a JSON object with an integer "order"), its order, TTL seconds.
SET_UNLESS_NEWER = """
local current = redis.call('GET', KEYS[1])
if current then
    local ok, stored = pcall(cjson.decode, current)
    local order = ok and type(stored) == 'table' and tonumber(stored['order'])
    if order and order > tonumber(ARGV[2]) then
        return 0
    end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
"""
# KEYS[1] key; ARGV an integer, TTL ms. Keeps the larger of the stored integer and ARGV[1], for ARGV[2] ms.
SET_MAX = """
local current = tonumber(redis.call('GET', KEYS[1]))
if current and current > tonumber(ARGV[1]) then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
# The eviction policy the project's Redis runs with (scripts/infra.sh, docker-compose.yml, the tests):
# every cache key has a TTL, the /stats counters have none and must stay, so only keys with a TTL
# are evicted, the least recently used first.
EVICTION_POLICY = "volatile-lru"
DELETE_RETRY_S, DELETE_RETRY_MAX_S = 0.5, 60.0  # delete_eventually's first and longest pause
MAX_PENDING_DELETES = 10_000  # keys delete_eventually retries at once, per worker
# How long a Redis call may take (connecting, an answer, a free connection of the pool): beyond, it
# failed, and the breaker skips Redis for a while (Cache).
REDIS_TIMEOUT_S = 0.25


def user_tag(user_id: str) -> str:
    """`{<digest of the user id>}`: the hash tag of every key of one user (their state, the pages
    under it, the position of their last write), so a script or pipeline over them stays in one
    Redis Cluster slot; a digest, so no key names a user."""
    return "{" + hashlib.sha256(user_id.encode()).hexdigest()[:40] + "}"


def personalized_state_key(user_id: str) -> str:
    """The key of a user's personalised state token (the pages under it share its hash tag)."""
    return "personalized-state:" + user_tag(user_id)


def write_position_key(user_id: str) -> str:
    """The key of the primary's WAL position after the user's last write (read-your-writes on standbys)."""
    return "write-position:" + user_tag(user_id)


class LocalCache:
    """A worker's least recently used copies of cached values, all of one data version.

    A lookup names the data version its key belongs to: when that version differs from the one the
    entries were stored under, they are all dropped (a refresh empties it in every worker within
    DATA_VERSION_MAX_AGE_MS). An entry also expires with its Redis copy's TTL. At most `entries`
    values are kept (0: none).
    """

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._version: str | None = None
        self._values: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._values)

    def get(self, version: str, key: str) -> bytes | None:
        """The value under key stored for this data version, or None."""
        found = self.get_entry(version, key)
        return None if found is None else found[1]

    def get_entry(self, version: str, key: str) -> tuple[float, bytes] | None:
        """(when it expires, on the monotonic clock; the value) under key for this data version, or None."""
        if version != self._version:
            self._values.clear()
            self._version = version
            return None
        found = self._values.get(key)
        if found is None:
            return None
        if found[0] <= time.monotonic():
            del self._values[key]
            return None
        self._values.move_to_end(key)
        return found

    def discard(self, key: str) -> None:
        """Forget the value under key, if any."""
        self._values.pop(key, None)

    def put(self, version: str, key: str, value: bytes, ttl_seconds: float) -> None:
        """Keep value under key for this data version, evicting the least recently used beyond the bound."""
        if self.entries <= 0:
            return
        if version != self._version:
            self._values.clear()
            self._version = version
        self._values[key] = (time.monotonic() + ttl_seconds, value)
        self._values.move_to_end(key)
        while len(self._values) > self.entries:
            self._values.popitem(last=False)


class PersonalizedLookup(NamedTuple):
    """What was found for a user's personalised page: the stored state token (None when none is
    stored or a write tombstoned it), the page under that token (None on a miss) and the state's
    remaining lifetime in Redis in ms (as of the last round trip, when a worker's copy answered)."""

    token: str | None
    page: bytes | None
    ttl_ms: int = 0


class Cache:
    """Versioned JSON cache; every method swallows Redis errors and reports availability.

    Keys are `<kind>:...`; each lookup is reported to on_lookup(kind, "hit" | "miss" | "error").
    With local_entries, values looked up with a data version are also kept in a LocalCache (one per
    kind of key, each bounded to local_entries); with
    state_local_ms too, personalised state tokens are kept for that long (the pages under them as
    long as their TTL).

    A circuit breaker: after a failed call (an error, or no answer within the client's timeout),
    lookups and writes a request can do without skip Redis for breaker_open_ms (an "error"
    lookup, a skipped write), so a Redis that hangs costs one timeout, not one per request. Then
    one call tries Redis again (the others still skip until it answers); an answer to a call
    begun since the breaker opened closes it (`cache.recovered`). Writes a later answer depends
    on (a user's tombstone, a profile's copy after a write, an erased profile's deletion, a
    write's WAL position) and the health check's ping always try Redis. Every connection of the
    pool busy is not a failure (the call is skipped), nor is a command Redis refuses with an
    error reply (logged as `cache.refused` once a minute: out of memory, a read-only replica).
    breaker_open_ms 0, or a Redis Cluster (a node down must not skip the others): never skip.
    """

    def __init__(
        self,
        client: RedisClient,
        on_lookup: Callable[[str, str], None] | None = None,
        local_entries: int = 0,
        state_local_ms: int = 0,
        breaker_open_ms: int = 0,
    ) -> None:
        self.client = client
        self.breaker_open_s = 0.0 if isinstance(client, RedisCluster) else breaker_open_ms / 1000
        self.on_lookup = on_lookup
        self.local_entries = local_entries
        self._locals: dict[str, LocalCache] = {}  # by the kind of key: each kind has its own version
        self.state_local_ms = state_local_ms if local_entries > 0 else 0
        self.local_states = LocalCache(local_entries if self.state_local_ms > 0 else 0)
        self.local_pages = LocalCache(local_entries if self.state_local_ms > 0 else 0)
        self._renewing: dict[str, asyncio.Future[PersonalizedLookup]] = {}
        self._down_since: float | None = None  # when the breaker opened (the outage began), or None
        self._skip_until = 0.0  # on the monotonic clock: calls that may skip Redis do until then
        self._refused = ThrottledLog(log, "cache.refused", "calls")
        self._deleting: dict[str, asyncio.Future[None]] = {}  # delete_eventually's keys
        self._set_unless_newer = client.register_script(SET_UNLESS_NEWER)
        self._personalized_lookup = client.register_script(PERSONALIZED_LOOKUP)
        self._personalized_store_state = client.register_script(PERSONALIZED_STORE_STATE)
        self._personalized_store_state_and_get = client.register_script(PERSONALIZED_STORE_STATE_AND_GET)
        self._set_max = client.register_script(SET_MAX)

    def _admit(self) -> float | None:
        """When a call that may skip Redis starts (monotonic), or None while the breaker skips it. Once
        the breaker's time is up, the call admitted is the probe: the others skip until it answers."""
        now = time.monotonic()
        if now < self._skip_until:
            return None
        if self._down_since is not None:
            self._skip_until = now + self.breaker_open_s
        return now

    def _failed(self, error: Exception, started: float) -> None:
        """A call begun at `started` got no answer, or an error reply (which is an answer)."""
        if isinstance(error, MaxConnectionsError):
            return  # every connection busy (the worker's load, not a Redis failure): this call skipped
        if isinstance(error, ResponseError):
            # Redis answered, refusing the command (out of memory under noeviction, a read-only
            # replica): it is up, and its reads still serve; once a minute in the log. An answer
            # closes the breaker as any other does.
            self._refused.record(type(error).__name__, error=str(error))
            self._succeeded(started)
            return
        now = time.monotonic()
        self._skip_until = now + self.breaker_open_s
        if self._down_since is None:
            self._down_since = now
            log.warning("cache.unavailable", extra={"error": str(error) or repr(error)})

    def _succeeded(self, started: float) -> None:
        """A call begun at `started` got its answer: the breaker closes unless the call began before
        it opened (a slow Redis answering old calls while new ones time out is still failing)."""
        if self._down_since is not None and started >= self._down_since:
            outage_s = round(time.monotonic() - self._down_since, 1)
            self._down_since = None
            self._skip_until = 0.0
            log.info("cache.recovered", extra={"outage_s": outage_s})

    async def ping(self) -> bool:
        """True when Redis answers now (every master node of a Redis Cluster); asked even while the
        breaker skips Redis, and closes it when Redis answers."""
        started = time.monotonic()
        try:
            if isinstance(self.client, RedisCluster):
                await self.client.ping(target_nodes=RedisCluster.PRIMARIES)
            else:
                await self.client.ping()
        except (RedisError, OSError) as error:
            self._failed(error, started)
            return False
        self._succeeded(started)
        return True

    async def warn_if_unbounded(self) -> None:
        """Log `cache.unbounded` when Redis has no memory limit or refuses writes once full.

        Without maxmemory every distinct request adds a key until the machine runs out of memory; with
        noeviction a full Redis fails every write. Silent when Redis is down or INFO is not allowed.
        """
        try:
            memory = await self.client.info("memory")
        except (RedisError, OSError):
            return
        maxmemory, policy = int(memory.get("maxmemory", 0)), str(memory.get("maxmemory_policy"))
        if maxmemory == 0 or policy == "noeviction":
            found = {"maxmemory": maxmemory, "maxmemory_policy": policy}
            log.warning("cache.unbounded", extra=found | {"expected_policy": EVICTION_POLICY})

    def local_of(self, kind: str) -> LocalCache:
        """The worker's LocalCache of one kind of key (popular, similar ...), each kept under the data
        version its keys name, so that kinds with different versions do not empty each other's."""
        local = self._locals.get(kind)
        if local is None:
            local = self._locals[kind] = LocalCache(self.local_entries)
        return local

    def _looked_up(self, key: str, result: str) -> None:
        if self.on_lookup is not None:
            self.on_lookup(key.split(":", 1)[0], result)

    async def get(self, key: str, *, version: str | None = None, ttl_seconds: int = 0) -> bytes | None:
        """The cached bytes under the versioned key, or None on a miss or outage.

        With version (the data version the key belongs to), the worker's LocalCache is asked first
        and keeps what Redis answers for ttl_seconds.
        """
        if version is not None and self.local_entries > 0:
            local = self.local_of(key.split(":", 1)[0]).get(version, key)
            if local is not None:
                self._looked_up(key, "hit")
                return local
        value: bytes | None
        if key in self._deleting:  # a copy older than a write, not to be read (delete_eventually)
            self._looked_up(key, "miss")
            return None
        started = self._admit()
        if started is None:
            self._looked_up(key, "error")
            return None
        try:
            raw = await self.client.get(KEY_PREFIX + key)
            value = raw.encode() if isinstance(raw, str) else raw
        except (RedisError, OSError) as error:
            self._failed(error, started)
            value, result = None, "error"
        else:
            self._succeeded(started)
            result = "miss" if value is None else "hit"
        self._looked_up(key, result)
        if value is not None and version is not None:
            self.local_of(key.split(":", 1)[0]).put(version, key, value, ttl_seconds)
        return value

    async def set(self, key: str, value: bytes, ttl_seconds: int, *, version: str | None = None) -> None:
        """Store bytes under the versioned key (and, with its data version, in the LocalCache); an
        outage only skips the Redis write."""
        if version is not None:
            self.local_of(key.split(":", 1)[0]).put(version, key, value, ttl_seconds)
        started = self._admit()
        if started is None:
            return
        try:
            await self.client.set(KEY_PREFIX + key, value, ex=ttl_seconds)
        except (RedisError, OSError) as error:
            self._failed(error, started)
            return
        self._succeeded(started)

    async def personalized_lookup(
        self, state_key: str, page_kind: str, page_suffix: str, page_ttl_seconds: int
    ) -> PersonalizedLookup:
        """The user's stored state token and the page under `<page_kind>:<token><page_suffix>`: from
        this worker's copies when it holds both, else in one round trip to Redis (then kept here:
        the token for state_local_ms at most, counted from before the round trip and never past its
        life in Redis; the page for page_ttl_seconds). Once a copy of a token is past half its time,
        the next lookup asks Redis again in the background, so a user's requests rarely wait for
        Redis. Nothing found on an outage."""
        if self.state_local_ms > 0:
            copy = self.local_states.get_entry("state", state_key)
            if copy is not None:
                expires_at, kept = copy
                token_bytes, _, redis_expires_at = kept.partition(b" ")
                token = token_bytes.decode()
                page = self.local_pages.get("page", f"{page_kind}:{token}{page_suffix}")
                if page is not None:
                    now = time.monotonic()
                    if (expires_at - now) * 2000 < self.state_local_ms:
                        self._renew_copy(state_key, page_kind, page_suffix, page_ttl_seconds)
                    self._looked_up(page_kind, "hit")
                    return PersonalizedLookup(token, page, int((float(redis_expires_at) - now) * 1000))
        return await self._ask_redis(state_key, page_kind, page_suffix, page_ttl_seconds)

    def _renew_copy(self, state_key: str, page_kind: str, page_suffix: str, page_ttl_seconds: int) -> None:
        """Ask Redis for the user's state in the background (one such call per user at a time)."""
        if state_key in self._renewing:
            return
        renewal = asyncio.ensure_future(
            self._ask_redis(state_key, page_kind, page_suffix, page_ttl_seconds, counted=False)
        )
        self._renewing[state_key] = renewal
        renewal.add_done_callback(lambda _: self._renewing.pop(state_key, None))

    async def _ask_redis(
        self, state_key: str, page_kind: str, page_suffix: str, page_ttl_seconds: int, counted: bool = True
    ) -> PersonalizedLookup:
        """The state token and page from Redis in one round trip, kept in this worker (see
        personalized_lookup); counted as a cache lookup unless it renews a copy."""
        asked_at = self._admit()
        if asked_at is None:
            if counted:
                self._looked_up(page_kind, "error")
            return PersonalizedLookup(None, None)
        try:
            found = await self._personalized_lookup(
                keys=[KEY_PREFIX + state_key], args=[f"{KEY_PREFIX}{page_kind}:", page_suffix, TOMBSTONE],
                client=self.client,
            )  # fmt: skip
        except (RedisError, OSError) as error:
            self._failed(error, asked_at)
            if counted:
                self._looked_up(page_kind, "error")
            return PersonalizedLookup(None, None)
        self._succeeded(asked_at)
        if found is None or found[0] == TOMBSTONE:
            self.local_states.discard(state_key)
            return PersonalizedLookup(None, None)
        token, page, ttl_ms = found[0].decode(), found[1], int(found[2])
        if counted:
            self._looked_up(page_kind, "miss" if page is None else "hit")
        if self.state_local_ms > 0:
            # Redis read the token after asked_at: a copy kept until asked_at + state_local_ms ends
            # by then, whatever the worker's delays (see forget_state).
            keep_s = min(self.state_local_ms, ttl_ms) / 1000 - (time.monotonic() - asked_at)
            if keep_s > 0:
                kept = found[0] + b" " + repr(asked_at + ttl_ms / 1000).encode()
                self.local_states.put("state", state_key, kept, keep_s)
            if page is not None:
                self.local_pages.put("page", f"{page_kind}:{token}{page_suffix}", page, page_ttl_seconds)
        return PersonalizedLookup(token, page, ttl_ms)

    def keep_page(self, page_key: str, page: bytes, ttl_seconds: int) -> None:
        """Keep a personalised page just stored in Redis in this worker too."""
        self.local_pages.put("page", page_key, page, ttl_seconds)

    async def store_state(self, state_key: str, token: str, ttl_ms: int) -> bool:
        """Store a user's state token for ttl_ms, unless a write tombstoned the user meanwhile; False
        when refused, on an outage or while the breaker skips Redis."""
        started = self._admit()
        if started is None:
            return False
        try:
            stored = await self._personalized_store_state(
                keys=[KEY_PREFIX + state_key], args=[token, ttl_ms, TOMBSTONE], client=self.client
            )
        except (RedisError, OSError) as error:
            self._failed(error, started)
            return False
        self._succeeded(started)
        return bool(stored)

    async def store_state_and_get(
        self, state_key: str, token: str, ttl_ms: int, page_key: str
    ) -> tuple[bool, bytes | None]:
        """store_state, then the page under page_key (a key of the same user), in one round trip:
        whether the token was stored, and the page (None on a miss or an outage; counted as a
        lookup of the page's kind)."""
        started = self._admit()
        if started is None:
            self._looked_up(page_key, "error")
            return False, None
        try:
            found = await self._personalized_store_state_and_get(
                keys=[KEY_PREFIX + state_key, KEY_PREFIX + page_key], args=[token, ttl_ms, TOMBSTONE],
                client=self.client,
            )  # fmt: skip
        except (RedisError, OSError) as error:
            self._failed(error, started)
            self._looked_up(page_key, "error")
            return False, None
        self._succeeded(started)
        page = found[1] if len(found) > 1 else None  # Redis answers false (nil) as a missing element
        page = page.encode() if isinstance(page, str) else page or None
        self._looked_up(page_key, "miss" if page is None else "hit")
        return bool(found[0]), page

    async def forget_state(self, state_key: str) -> bool:
        """Replace a user's state with a tombstone for TOMBSTONE_MS, then wait state_local_ms: every
        worker's copy of the old token (each read from Redis before the tombstone, and kept for at
        most state_local_ms from before that read) has then expired, so the caller's answer comes
        after the last request that could use it. False on an outage."""
        self.local_states.discard(state_key)
        started = time.monotonic()
        try:
            await self.client.set(KEY_PREFIX + state_key, TOMBSTONE, px=TOMBSTONE_MS)
        except (RedisError, OSError) as error:
            self._failed(error, started)
            return False
        self._succeeded(started)
        if self.state_local_ms > 0:
            await asyncio.sleep(self.state_local_ms / 1000)
        return True

    async def set_unless_newer(
        self, key: str, value: bytes, order: int, ttl_seconds: int, *, after_write: bool = True
    ) -> bool:
        """Store a JSON object with an integer `order` field under the versioned key, unless the
        value there already has a larger order (a writer that read older data lost a race with a
        newer one); False when Redis did not take it (an outage: see delete_eventually). After a
        write it is tried even while the breaker skips Redis (a profile's copy must not stay older
        than a write); a copy filled by a read (after_write False) can do without, and is skipped
        then, so a hanging Redis does not cost every GET /user-profile a timeout."""
        started = time.monotonic() if after_write else self._admit()
        if started is None:
            return False
        try:
            await self._set_unless_newer(
                keys=[KEY_PREFIX + key], args=[value, order, ttl_seconds], client=self.client
            )
        except (RedisError, OSError) as error:
            self._failed(error, started)
            return False
        self._succeeded(started)
        return True

    def delete_eventually(self, key: str, within_s: float) -> None:
        """Delete the value under key once Redis answers, tried in the background for within_s (the
        value's TTL), half a second after the first attempt and then twice as long each time, up to
        a minute: for a copy a write made stale and could not replace (Redis paused, out of memory,
        unreachable). Until then this worker's get() of key is a miss. At most
        MAX_PENDING_DELETES keys at once (beyond, a write's copy is left to its TTL)."""
        if key in self._deleting or len(self._deleting) >= MAX_PENDING_DELETES:
            return
        self._deleting[key] = asyncio.ensure_future(self._delete_when_answering(key, within_s))

    def stop(self) -> None:
        """Give up the deletions still waiting for Redis (the app is stopping)."""
        for deleting in list(self._deleting.values()):
            deleting.cancel()

    async def _delete_when_answering(self, key: str, within_s: float) -> None:
        deadline, pause_s = time.monotonic() + within_s, DELETE_RETRY_S
        try:
            while not await self.delete(key) and time.monotonic() + pause_s < deadline:
                await asyncio.sleep(pause_s)
                pause_s = min(pause_s * 2, DELETE_RETRY_MAX_S)
        finally:
            self._deleting.pop(key, None)

    async def write_position(self, key: str) -> int | None:
        """The WAL position stored under key (0 when none); None on an outage or while the breaker
        skips Redis (the caller then reads the primary)."""
        started = self._admit()
        if started is None:
            return None
        try:
            raw = await self.client.get(KEY_PREFIX + key)
        except (RedisError, OSError) as error:
            self._failed(error, started)
            return None
        self._succeeded(started)
        return 0 if raw is None else int(raw)

    async def remember_write_position(self, key: str, position: int, ttl_ms: int) -> None:
        """Keep the larger of a WAL position and the one under key, for ttl_ms (tried even while the
        breaker skips Redis); an outage skips it."""
        started = time.monotonic()
        try:
            await self._set_max(keys=[KEY_PREFIX + key], args=[position, ttl_ms], client=self.client)
        except (RedisError, OSError) as error:
            self._failed(error, started)
            return
        self._succeeded(started)

    async def delete(self, key: str) -> bool:
        """Remove the value under the versioned key (tried even while the breaker skips Redis); False
        when Redis could not be asked (an outage)."""
        started = time.monotonic()
        try:
            await self.client.delete(KEY_PREFIX + key)
        except (RedisError, OSError) as error:
            self._failed(error, started)
            return False
        self._succeeded(started)
        return True


class _BlockingPool(redis.BlockingConnectionPool):
    """redis-py's blocking pool, where no connection freed in time raises MaxConnectionsError (as a
    full cluster pool does), not a ConnectionError that would read as Redis failing."""

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
        except RedisConnectionError as error:
            if isinstance(error.__cause__, asyncio.TimeoutError):
                raise MaxConnectionsError("no Redis connection freed in time") from error
            raise


def create_redis(settings: Settings) -> RedisClient:
    """A client with short timeouts so an unreachable Redis costs milliseconds, not seconds, and at
    most REDIS_POOL_MAX_SIZE connections (a call waits as long as a reply for a free one): of one
    Redis, or of a Redis Cluster for a redis+cluster:// URL (any node of it: the client learns the
    others and which slots each holds, and follows the cluster when slots move; at most that many
    connections per node)."""
    url = settings.recommendations_redis_url
    scheme = urlsplit(url).scheme
    if scheme in REDIS_CLUSTER_SCHEMES:
        cluster: RedisCluster = RedisCluster.from_url(
            REDIS_CLUSTER_SCHEMES[scheme] + url[len(scheme) :],
            socket_connect_timeout=REDIS_TIMEOUT_S,
            socket_timeout=REDIS_TIMEOUT_S,
            health_check_interval=30,
            max_connections=settings.redis_pool_max_size,
            # A node down leaves the other nodes' slots served, and costs one failed call, not retries.
            require_full_coverage=False,
            retry=Retry(NoBackoff(), 0),
        )
        return cluster
    pool = _BlockingPool.from_url(
        url,
        max_connections=settings.redis_pool_max_size,
        timeout=REDIS_TIMEOUT_S,
        socket_connect_timeout=REDIS_TIMEOUT_S,
        socket_timeout=REDIS_TIMEOUT_S,
        health_check_interval=30,
        retry=Retry(NoBackoff(), 0),
    )
    return redis.Redis.from_pool(pool)
