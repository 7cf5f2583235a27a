"""Redis client owned by the lifespan; a Redis failure is a cache miss, logged once per outage."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from service.settings import Settings

log = logging.getLogger("service.cache")
KEY_PREFIX = "v5:"  # bumped whenever the format of a cached value changes
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
# The eviction policy the project's Redis runs with (scripts/infra.sh, docker-compose.yml, the tests):
# every cache key has a TTL, the /stats counters have none and must stay, so only keys with a TTL
# are evicted, the least recently used first.
EVICTION_POLICY = "volatile-lru"


class Cache:
    """Versioned JSON cache; every method swallows Redis errors and reports availability.

    Keys are `<kind>:...`; each lookup is reported to on_lookup(kind, "hit" | "miss" | "error").
    """

    def __init__(self, client: redis.Redis, on_lookup: Callable[[str, str], None] | None = None) -> None:
        self.client = client
        self.on_lookup = on_lookup
        self._down_since: float | None = None
        self._set_unless_newer = client.register_script(SET_UNLESS_NEWER)

    def _failed(self, error: Exception) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("cache.unavailable", extra={"error": str(error)})

    def _succeeded(self) -> None:
        if self._down_since is not None:
            outage_s = round(time.monotonic() - self._down_since, 1)
            self._down_since = None
            log.info("cache.recovered", extra={"outage_s": outage_s})

    async def ping(self) -> bool:
        """True when Redis answers now."""
        try:
            await self.client.ping()
        except (RedisError, OSError) as error:
            self._failed(error)
            return False
        self._succeeded()
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

    async def get(self, key: str) -> bytes | None:
        """The cached bytes under the versioned key, or None on a miss or outage."""
        try:
            value = await self.client.get(KEY_PREFIX + key)
        except (RedisError, OSError) as error:
            self._failed(error)
            value, result = None, "error"
        else:
            self._succeeded()
            result = "miss" if value is None else "hit"
        if self.on_lookup is not None:
            self.on_lookup(key.split(":", 1)[0], result)
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        """Store bytes under the versioned key; an outage only skips the write."""
        try:
            await self.client.set(KEY_PREFIX + key, value, ex=ttl_seconds)
        except (RedisError, OSError) as error:
            self._failed(error)
            return
        self._succeeded()

    async def set_unless_newer(self, key: str, value: bytes, order: int, ttl_seconds: int) -> None:
        """Store a JSON object with an integer `order` field under the versioned key, unless the
        value there already has a larger order (a writer that read older data lost a race with a
        newer one); an outage only skips the write."""
        try:
            await self._set_unless_newer(
                keys=[KEY_PREFIX + key], args=[value, order, ttl_seconds], client=self.client
            )
        except (RedisError, OSError) as error:
            self._failed(error)
            return
        self._succeeded()

    async def delete(self, key: str) -> bool:
        """Remove the value under the versioned key; False when Redis could not be asked (an outage)."""
        try:
            await self.client.delete(KEY_PREFIX + key)
        except (RedisError, OSError) as error:
            self._failed(error)
            return False
        self._succeeded()
        return True


def create_redis(settings: Settings) -> redis.Redis:
    """A client with short timeouts so an unreachable Redis costs milliseconds, not seconds."""
    client: redis.Redis = redis.Redis.from_url(
        settings.recommendations_redis_url,
        socket_connect_timeout=0.25,
        socket_timeout=0.25,
        health_check_interval=30,
        retry=Retry(NoBackoff(), 0),
    )
    return client
