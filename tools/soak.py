"""Bounded soak (`make soak`): steady mixed traffic, every job run several times, Redis and main restarted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis.asyncio as redis_async

from service.bootstrap import DEV_MAIN_SCHEMA_FILE, bootstrap, main_grants
from service.dsn import parse_pg_url
from service.jobs import run_jobs
from service.migrate import PROJECT_DIR, migrate
from service.models import AGE_GROUPS
from service.settings import Settings, settings_environ
from tools.evaluate import git_commit
from tools.generate import PRESETS, generate, sync_demo_demographics
from tools.processes import free_port, running_process, worker_rss_by_pid

RESULTS_PATH = PROJECT_DIR / "bench" / "results" / "soak.json"
INFRA = PROJECT_DIR / "scripts" / "infra.sh"
MAIN_DB, RECS_DB = "mysanta_soak_main", "mysanta_soak_recs"
REDIS_MAXMEMORY = "64mb"
# The soak compresses hours into minutes: jobs run every ~12 s instead of every 15-60 min, so cached
# pages live 30 s instead of 15 min-4 h, in proportion; the cache then reaches its steady state (as
# many entries expiring as written) within the run, before the Redis fault and again before the end.
CACHE_TTL_S = 30
RSS_GROWTH_FACTOR, RSS_SLACK_MB = 1.2, 10.0  # flat: last <= first x 1.2 + 10 MB, for every worker
REDIS_GROWTH_FACTOR, REDIS_SLACK_MB = 1.2, 2.0  # flat: end <= before the Redis fault x 1.2 + 2 MB
REQUEST_TIMEOUT_S = 10.0
JOB_TIMEOUT_S = 300.0
MAX_IN_FLIGHT = 1000  # a request due while this many are unanswered is counted as not sent
UNKNOWN_USERS = 200  # distinct user ids Rails asks about that the service has never seen
ACTIVE_USERS = 500  # users back within minutes (feed reloads, next pages): most personal traffic
ROUTES = ("POST /popular", "POST /personalized", "PUT /user-profile", "GET /user-profile")
ROUTE_WEIGHTS = (40, 40, 10, 10)  # Rails' mix: recommendations mostly, profile syncs and reads
CATEGORIES = ("books", "electronics", "toys", "home", "beauty", "sports", "food", "fashion", "games")
PLATFORMS = ("amazon", "etsy", "ozon", "wildberries", "local_shop")
LOCALES = ("en", "ru", "de", "fr", "es")
_STARTED = time.perf_counter()


def progress(message: str) -> None:
    """One line of progress, with the seconds since the soak started."""
    print(f"[soak {time.perf_counter() - _STARTED:6.0f} s] {message}", flush=True)


@dataclass(frozen=True)
class SoakConfig:
    """How long, how fast and how hard the soak pushes; everything else is fixed by the soak."""

    seconds: float = 180.0
    rate: float = 40.0  # requests per second, Rails' routes only
    workers: int = 2
    preset: str = "demo"
    job_rounds: int = 3  # runs of each job through the admin API
    fault_seconds: float = 15.0  # how long Redis, then main, stays stopped
    redis_fault_at: float = 0.3  # fractions of the run at which each fault starts
    main_fault_at: float = 0.55
    sample_every_s: float = 10.0
    warmup_s: float = 20.0  # worker memory is compared from the first sample after this
    events_per_second: int = 10  # new likes and clicks written into main
    seed: int = 11


# --- private infrastructure ---------------------------------------------------------------------


class PrivateInfra:
    """A recs cluster, a main cluster and a Redis of the soak's own, in a temporary state directory
    (scripts/infra.sh with STATE_DIR and ports of its own), so the soak may stop them at will."""

    def __init__(self) -> None:
        self.state_dir = Path(tempfile.mkdtemp(prefix="mysanta-soak-"))
        os.chmod(self.state_dir, 0o755)  # noqa: S103 - the postgres OS user must enter it
        self.recs_port, self.main_port, self.redis_port = free_port(), free_port(), free_port()
        self.redis_password = secrets.token_hex(16)
        inherited = {key: value for key, value in os.environ.items() if key not in ("PG_PORT", "REDIS_PORT")}
        self.env = inherited | {
            "STATE_DIR": str(self.state_dir), "PG_FAST": "1", "REDIS_PORT": str(self.redis_port),
            "REDIS_MAXMEMORY": REDIS_MAXMEMORY, "REDIS_PASSWORD": self.redis_password,
        }  # fmt: skip

    def cluster_env(self, pg_port: int | None) -> dict[str, str]:
        """The environment of infra.sh for one cluster (or for Redis only)."""
        return self.env | ({"PG_PORT": str(pg_port)} if pg_port else {})

    def run(self, action: str, pg_port: int | None = None) -> str:
        """Run scripts/infra.sh action (for the cluster on pg_port); its output."""
        done = subprocess.run(  # noqa: S603 - the project's own script
            [str(INFRA), action], env=self.cluster_env(pg_port), check=True, capture_output=True, text=True
        )
        return done.stdout.strip()

    async def run_async(self, action: str, pg_port: int | None = None) -> None:
        """The same, without blocking the traffic's event loop."""
        process = await asyncio.create_subprocess_exec(
            str(INFRA), action, env=self.cluster_env(pg_port),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, stderr = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"infra.sh {action} failed: {stderr.decode(errors='replace')[-500:]}")

    def superuser_url(self, pg_port: int, dbname: str = "postgres") -> str:
        """The cluster's superuser URL (Unix socket, no password) for dbname."""
        return parse_pg_url(self.run("superuser-url", pg_port)).with_dbname(dbname)

    def start(self) -> None:
        """Start both clusters and Redis (each initialised on first start)."""
        self.run("start-postgres", self.recs_port)
        self.run("start-postgres", self.main_port)
        self.run("start-redis")

    def remove(self) -> None:
        """Stop everything it started and delete the state directory; never raises."""
        for action, port in (("stop-postgres", self.recs_port), ("stop-postgres", self.main_port)):
            subprocess.run([str(INFRA), action], env=self.cluster_env(port), check=False, capture_output=True)  # noqa: S603
        subprocess.run([str(INFRA), "stop-redis"], env=self.env, check=False, capture_output=True)  # noqa: S603
        shutil.rmtree(self.state_dir, ignore_errors=True)


@contextlib.contextmanager
def private_infra() -> Iterator[PrivateInfra]:
    """Started private infrastructure, stopped and deleted on exit (Ctrl-C and failures too)."""
    infra = PrivateInfra()
    try:
        infra.start()
        yield infra
    finally:
        infra.remove()


def soak_settings(infra: PrivateInfra) -> Settings:
    """The service's settings for the private infrastructure: fresh passwords, production mode."""

    def password() -> str:
        return secrets.token_urlsafe(24)

    return Settings(
        main_database_url=f"postgresql://mysanta_main_reader:{password()}@127.0.0.1:{infra.main_port}/{MAIN_DB}",
        recommendations_database_url=f"postgresql://mysanta_app:{password()}@127.0.0.1:{infra.recs_port}/{RECS_DB}",
        recommendations_owner_database_url=(
            f"postgresql://mysanta_owner:{password()}@127.0.0.1:{infra.recs_port}/{RECS_DB}"
        ),
        recommendations_redis_url=f"redis://:{infra.redis_password}@127.0.0.1:{infra.redis_port}/0",
        cache_ttl_popular=CACHE_TTL_S,
        cache_ttl_personalized=CACHE_TTL_S,
        cache_ttl_user_profile=CACHE_TTL_S,
        debug=False,
        basic_auth_username="soak-rails",
        basic_auth_password=password(),
        admin_basic_auth_username="soak-admin",
        admin_basic_auth_password=password(),
    )


def prepare_databases(infra: PrivateInfra, settings: Settings, preset: str) -> None:
    """Main on its own cluster (schema, generated data, the reader role), the recs side bootstrapped
    and migrated without pg_cron schedules, demographics synced, and a first refresh of every job."""
    main_admin = infra.superuser_url(infra.main_port, MAIN_DB)
    with psycopg.connect(infra.superuser_url(infra.main_port), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {MAIN_DB}")
    with psycopg.connect(main_admin, autocommit=True) as conn:
        conn.execute(DEV_MAIN_SCHEMA_FILE.read_bytes())
    written = generate(main_admin, PRESETS[preset])
    progress("main: " + ", ".join(f"{name} {count:,}" for name, count in written.items()))
    main_grants(settings.main_database_url, main_admin)
    bootstrap(infra.superuser_url(infra.recs_port), settings)
    migrate(settings, schedule=False)
    synced = sync_demo_demographics(main_admin, settings.recommendations_database_url)
    progress(f"recs: migrated, {synced:,} users' demographics synced; first refresh of every job")
    for run in run_jobs(settings):
        progress(f"first refresh: {run.job} {run.rows:,} rows in {run.duration_ms / 1000:.1f} s")


# --- what Rails sends ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownWorld:
    """Ids the traffic and the event writer draw from: all of them already have keys in recs."""

    users: list[tuple[str, str | None, str | None, str | None, int | None]]  # id, gender, age, locale, geo
    presents: list[str]
    unknown_users: list[str]
    active_users: list[tuple[str, str | None, str | None, str | None, int | None]]


def known_world(settings: Settings, rng: random.Random) -> KnownWorld:
    """Users with demographics and available public presents, as recs already knows them."""
    with psycopg.connect(settings.recommendations_owner_database_url) as owner:
        users = owner.execute(
            "SELECT u.user_id::text, d.gender, d.age_group, d.locale, d.geo_id"
            " FROM recs.users u JOIN recs.user_demographics d USING (user_key) ORDER BY u.user_key"
        ).fetchall()
        presents = [
            row[0]
            for row in owner.execute(
                "SELECT present_id::text FROM recs.items WHERE available ORDER BY item_id"
            ).fetchall()
        ]
    unknown = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(UNKNOWN_USERS)]
    active = rng.sample(users, min(ACTIVE_USERS, len(users)))
    return KnownWorld(users=users, presents=presents, unknown_users=unknown, active_users=active)


@dataclass(frozen=True)
class RequestSpec:
    """One request of the mix."""

    route: str
    method: str
    path: str
    body: dict[str, Any] | None = None


def _filters(rng: random.Random, filtered_share: float) -> dict[str, Any]:
    """Rails' filters: none, or (filtered_share of the time) a price band, a category or a platform."""
    filters: dict[str, Any] = {}
    if rng.random() >= filtered_share:
        return filters
    if rng.random() < 0.6:
        low = rng.choice((0, 10, 20, 50))
        filters |= {"price_from": low, "price_to": low + rng.choice((25, 50, 100, 500))}
    if rng.random() < 0.4:
        filters["category"] = rng.choice(CATEGORIES)
    if rng.random() < 0.2:
        filters["platform"] = rng.choice(PLATFORMS)
    return filters


def _pagination(rng: random.Random) -> dict[str, int]:
    return {"page": rng.choices((1, 2, 3), weights=(70, 20, 10))[0], "limit": rng.choice((10, 20, 20))}


def next_request(rng: random.Random, world: KnownWorld) -> RequestSpec:
    """A request drawn from Rails' mix: popular by segment, personalized (mostly active users, some
    never seen), profile syncs of known users (half unchanged, half with a new region or locale),
    profile reads."""
    route = rng.choices(ROUTES, weights=ROUTE_WEIGHTS)[0]
    users = world.active_users if rng.random() < 0.7 else world.users
    user_id, gender, age_group, locale, geo_id = rng.choice(users)
    if route == "POST /popular":
        params: dict[str, Any] = {}
        if rng.random() < 0.8:
            params["gender"] = rng.choice(("male", "female", "m", "f"))
        if rng.random() < 0.8:
            params["age"] = rng.choice(AGE_GROUPS) if rng.random() < 0.5 else rng.randrange(14, 80)
        if rng.random() < 0.3:
            params["geo_id"] = rng.randrange(1, 21)
        body: dict[str, Any] = {
            "user_params": params,
            "filters": _filters(rng, 0.5),
            "pagination": _pagination(rng),
        }
        return RequestSpec(route, "POST", "/popular", body)
    if route == "POST /personalized":
        if rng.random() < 0.1:
            user_id = rng.choice(world.unknown_users)
        body = {"user_id": user_id, "filters": _filters(rng, 0.2), "pagination": _pagination(rng)}
        if rng.random() < 0.3:
            body["geo_id"] = geo_id or rng.randrange(1, 21)
        return RequestSpec(route, "POST", "/personalized", body)
    if route == "PUT /user-profile":
        if rng.random() < 0.5:
            locale, geo_id = rng.choice(LOCALES), rng.randrange(1, 21)
        profile = {"gender": gender, "age_group": age_group, "locale": locale, "geo_id": geo_id}
        return RequestSpec(route, "PUT", f"/user-profile/{user_id}", profile)
    return RequestSpec(route, "GET", f"/user-profile/{user_id}")


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One Rails request: when it was sent (s since the traffic started), its answer and latency."""

    at: float
    route: str
    status: int  # 0: no answer (connection error or time-out)
    ms: float
    degraded: bool | None = None
    cache_hit: bool | None = None
    error: str | None = None


@dataclass
class JobCall:
    """One POST /admin/jobs/{job}: when, the answer, and the run's status as the body gives it."""

    at: float
    job: str
    status: int
    ms: float
    run_status: str | None = None


@dataclass
class Window:
    """A fault: from the stop command to the moment the restart command returned (s since start)."""

    name: str
    start: float
    end: float


@dataclass
class Samples:
    """Worker memory and Redis memory, sampled through the run."""

    rss: list[tuple[float, dict[int, float]]] = field(default_factory=list)
    redis: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RunRecord:
    """Everything the run observed; the report is computed from it."""

    outcomes: list[Outcome] = field(default_factory=list)
    not_sent: int = 0
    job_calls: list[JobCall] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    samples: Samples = field(default_factory=Samples)
    events_written: int = 0
    event_write_failures: int = 0
    traffic_seconds: float = 0.0


class Clock:
    """Seconds since the traffic started, on the event loop's clock."""

    def __init__(self) -> None:
        self.origin = asyncio.get_running_loop().time()

    def now(self) -> float:
        return asyncio.get_running_loop().time() - self.origin

    async def until(self, at: float) -> None:
        delay = at - self.now()
        if delay > 0:
            await asyncio.sleep(delay)


async def send(client: httpx.AsyncClient, spec: RequestSpec, clock: Clock, record: RunRecord) -> None:
    """Send one request and record its outcome; a transport failure is status 0."""
    at = clock.now()
    started = time.perf_counter()
    try:
        response = await client.request(spec.method, spec.path, json=spec.body)
    except httpx.HTTPError as error:
        ms = (time.perf_counter() - started) * 1000
        record.outcomes.append(Outcome(at, spec.route, 0, round(ms, 2), error=type(error).__name__))
        return
    ms = (time.perf_counter() - started) * 1000
    outcome = Outcome(at, spec.route, response.status_code, round(ms, 2))
    if response.status_code >= 500:  # problem+json: its title says which kind of failure
        with contextlib.suppress(ValueError):
            outcome.error = str(response.json().get("title"))
    if response.status_code == 200 and spec.route in ("POST /popular", "POST /personalized"):
        payload = response.json()
        outcome.cache_hit = bool(payload.get("cache_hit"))
        if spec.route == "POST /personalized":
            outcome.degraded = bool(payload.get("degraded"))
    record.outcomes.append(outcome)


async def drive_traffic(
    client: httpx.AsyncClient, world: KnownWorld, config: SoakConfig, clock: Clock, record: RunRecord
) -> None:
    """Open loop: request n is due at n / rate whatever the answers before it, so a stall shows as
    latency and time-outs, not as a slower client."""
    rng = random.Random(config.seed)  # noqa: S311 - traffic sampling, not security
    in_flight: set[asyncio.Task[None]] = set()
    total = int(config.seconds * config.rate)
    for n in range(total):
        await clock.until(n / config.rate)
        spec = next_request(rng, world)
        if len(in_flight) >= MAX_IN_FLIGHT:
            record.not_sent += 1
            continue
        task = asyncio.create_task(send(client, spec, clock, record))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    record.traffic_seconds = clock.now()
    await asyncio.gather(*in_flight)


async def run_job_calls(
    admin: httpx.AsyncClient, jobs: Sequence[str], config: SoakConfig, clock: Clock, record: RunRecord
) -> None:
    """Each job config.job_rounds times, round-robin, one call started every seconds / calls (calls
    may overlap when a job is slow: a second run of the same job then answers 409)."""
    calls = len(jobs) * config.job_rounds
    interval = config.seconds / calls

    async def call(job: str) -> None:
        at = clock.now()
        started = time.perf_counter()
        try:
            response = await admin.post(f"/admin/jobs/{job}", timeout=JOB_TIMEOUT_S)
        except httpx.HTTPError:
            record.job_calls.append(JobCall(at, job, 0, round((time.perf_counter() - started) * 1000, 1)))
            return
        run_status = response.json().get("status") if response.status_code == 200 else None
        ms = round((time.perf_counter() - started) * 1000, 1)
        record.job_calls.append(JobCall(at, job, response.status_code, ms, run_status))

    tasks = []
    for index in range(calls):
        await clock.until((index + 0.5) * interval)
        tasks.append(asyncio.create_task(call(jobs[index % len(jobs)])))
    await asyncio.gather(*tasks)


async def inject_fault(
    infra: PrivateInfra, name: str, pg_port: int | None, at: float, config: SoakConfig, clock: Clock,
    record: RunRecord,
) -> None:  # fmt: skip
    """Stop one dependency at `at` for config.fault_seconds, start it again, record the window."""
    stop, start = ("stop-postgres", "start-postgres") if pg_port else ("stop-redis", "start-redis")
    await clock.until(at)
    began = clock.now()
    progress(f"fault: stopping {name}")
    await infra.run_async(stop, pg_port)
    await asyncio.sleep(config.fault_seconds)
    await infra.run_async(start, pg_port)
    record.windows.append(Window(name, round(began, 2), round(clock.now(), 2)))
    progress(f"fault: {name} is back")


async def write_events(
    main_url: str, world: KnownWorld, config: SoakConfig, clock: Clock, record: RunRecord
) -> None:
    """New likes and clicks in main every second, by known users on known presents, so each sync
    has real work and draws no new key; while main is down the writes fail and are counted."""
    rng = random.Random(config.seed + 1)  # noqa: S311 - traffic sampling, not security
    conn: psycopg.AsyncConnection[Any] | None = None
    user_ids = [user[0] for user in world.users]
    try:
        for second in range(int(config.seconds)):
            await clock.until(second + 0.25)
            pairs = [
                (rng.choice(user_ids), rng.choice(world.presents)) for _ in range(config.events_per_second)
            ]
            likes, clicks = pairs[: len(pairs) // 2], pairs[len(pairs) // 2 :]
            try:
                if conn is None or conn.closed:
                    conn = await psycopg.AsyncConnection.connect(main_url, autocommit=True, connect_timeout=2)
                for table, chosen, conflict in (
                    ("handpicked_likes", likes, "ON CONFLICT DO NOTHING"),
                    ("handpicked_present_clicks", clicks, ""),
                ):
                    await conn.execute(
                        f"INSERT INTO {table} (id, user_id, handpicked_present_id, created_at)"
                        " SELECT gen_random_uuid(), u, p, now()"
                        f" FROM unnest(%s::uuid[], %s::uuid[]) AS t(u, p) {conflict}",
                        ([user for user, _ in chosen], [present for _, present in chosen]),
                    )
                record.events_written += len(pairs)
            except psycopg.Error:
                record.event_write_failures += 1
                if conn is not None:
                    await conn.close()
                conn = None
    finally:
        if conn is not None:
            await conn.close()


async def redis_memory(client: redis_async.Redis) -> dict[str, Any]:
    """used_memory, maxmemory, and the keys without a TTL (the /stats counters): count and bytes."""
    memory = await client.info("memory")
    persistent_keys = persistent_bytes = 0
    async for key in client.scan_iter(count=1000):
        if await client.ttl(key) == -1:
            persistent_keys += 1
            persistent_bytes += int(await client.memory_usage(key) or 0)
    sample: dict[str, Any] = {
        "used_memory": int(memory["used_memory"]),
        "maxmemory": int(memory["maxmemory"]),
        "keys": int(await client.dbsize()),
        "persistent_keys": persistent_keys,
        "persistent_bytes": persistent_bytes,
    }
    return sample


async def sample_memory(
    server_pid: int, redis_client: redis_async.Redis, at: float, record: RunRecord
) -> None:
    """One sample of each worker's RSS and of Redis' memory (None while Redis is down)."""
    record.samples.rss.append((round(at, 1), worker_rss_by_pid(server_pid)))
    sample: dict[str, Any] = {"at": round(at, 1), "used_memory": None}
    with contextlib.suppress(redis_async.RedisError, OSError):
        sample |= await redis_memory(redis_client)
    record.samples.redis.append(sample)


async def sample_periodically(
    server_pid: int, redis_client: redis_async.Redis, config: SoakConfig, clock: Clock, record: RunRecord
) -> None:
    """A memory sample every config.sample_every_s from the start of the traffic to its end."""
    at = 0.0
    while at < config.seconds:
        await clock.until(at)
        await sample_memory(server_pid, redis_client, clock.now(), record)
        at += config.sample_every_s


async def soak(
    base_url: str, server_pid: int, infra: PrivateInfra, settings: Settings, world: KnownWorld,
    jobs: Sequence[str], config: SoakConfig,
) -> RunRecord:  # fmt: skip
    """Traffic, job calls, new events, samples and both faults, together for config.seconds."""
    record = RunRecord()
    main_url = infra.superuser_url(infra.main_port, MAIN_DB)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    rails_auth, admin_auth = settings.auth_credentials, settings.admin_credentials
    redis_client = redis_async.Redis.from_url(
        settings.recommendations_redis_url, socket_timeout=2, socket_connect_timeout=1
    )
    async with (
        httpx.AsyncClient(
            base_url=base_url, auth=rails_auth, timeout=REQUEST_TIMEOUT_S, limits=limits
        ) as client,
        httpx.AsyncClient(base_url=base_url, auth=admin_auth) as admin,
    ):
        clock = Clock()
        await asyncio.gather(
            drive_traffic(client, world, config, clock, record),
            run_job_calls(admin, jobs, config, clock, record),
            write_events(main_url, world, config, clock, record),
            sample_periodically(server_pid, redis_client, config, clock, record),
            inject_fault(infra, "redis", None, config.seconds * config.redis_fault_at, config, clock, record),
            inject_fault(
                infra, "main", infra.main_port, config.seconds * config.main_fault_at, config, clock, record
            ),
        )
        await sample_memory(server_pid, redis_client, clock.now(), record)
    await redis_client.aclose()
    return record


# --- database-side evidence ---------------------------------------------------------------------


def sequence_values(settings: Settings) -> dict[str, int | None]:
    """Last value of every recs sequence, as api.sequence_usage() reports it to the app role."""
    with psycopg.connect(settings.recommendations_database_url) as app:
        rows = app.execute("SELECT sequence_name, last_value FROM api.sequence_usage()").fetchall()
    return {name: last for name, last in rows}


def last_job_run_id(settings: Settings) -> int:
    """The newest recs.job_runs id (0 for none)."""
    with psycopg.connect(settings.recommendations_owner_database_url) as owner:
        row = owner.execute("SELECT coalesce(max(id), 0) FROM recs.job_runs").fetchone()
    assert row is not None
    return int(row[0])


def job_runs_since(settings: Settings, after_id: int) -> dict[str, Any]:
    """The recs.job_runs rows written after after_id: how many, skipped, failed (with SQLSTATEs), per job."""
    with psycopg.connect(settings.recommendations_owner_database_url) as owner:
        rows = owner.execute(
            "SELECT job, details ? 'skipped_because', error IS NOT NULL, details ->> 'sqlstate'"
            " FROM recs.job_runs WHERE id > %s ORDER BY id",
            (after_id,),
        ).fetchall()
    per_job: Counter[str] = Counter(job for job, _, _, _ in rows)
    return {
        "rows": len(rows),
        "skipped": sum(1 for _, skipped, _, _ in rows if skipped),
        "failed": sum(1 for _, skipped, failed, _ in rows if failed and not skipped),
        "failed_sqlstates": sorted({state for _, _, failed, state in rows if failed and state}),
        "per_job": dict(per_job),
    }


def admin_job_names(base_url: str, settings: Settings) -> list[str]:
    """Every job the service lists (GET /admin/jobs), in its order."""
    response = httpx.get(f"{base_url}/admin/jobs", auth=settings.admin_credentials, timeout=30)
    response.raise_for_status()
    return [job["job"] for job in response.json()]


def server_log_summary(log_path: Path) -> dict[str, int]:
    """Warnings and errors of the server's JSON log, counted by level and event (no other field),
    and the requests it logged with a 5xx status."""
    counts: Counter[str] = Counter()
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        level = str(entry.get("level", "")).upper()
        if level in ("WARNING", "ERROR", "CRITICAL"):
            counts[f"{level} {entry.get('event')}"] += 1
        elif entry.get("event") == "http.request" and int(entry.get("status") or 0) >= 500:
            counts["http.request status >= 500"] += 1
    return dict(sorted(counts.items()))


# --- verdicts (pure: tested on synthetic samples) -----------------------------------------------


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (share in 0..1) of values; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(share * len(ordered))))
    return round(ordered[rank - 1], 2)


def in_window(at: float, window: Window, tail_s: float = 0.0) -> bool:
    """True when at falls inside window, extended by tail_s after its end."""
    return window.start <= at <= window.end + tail_s


def overlaps(start: float, seconds: float, window: Window) -> bool:
    """True when [start, start + seconds] and the window share a moment."""
    return start <= window.end and start + seconds >= window.start


def rss_verdict(
    samples: Sequence[tuple[float, dict[int, float]]], warmup_s: float, workers_expected: int,
    factor: float = RSS_GROWTH_FACTOR, slack_mb: float = RSS_SLACK_MB,
) -> dict[str, Any]:  # fmt: skip
    """Each worker's RSS: first sample after warm-up, last, max; flat when the same workers (as many
    as started) served throughout and each one's last <= first x factor + slack_mb."""
    settled = [sample for sample in samples if sample[0] >= warmup_s] or list(samples[-1:])
    if not settled:
        return {"passed": False, "reason": "no samples"}
    first, last = settled[0][1], samples[-1][1]
    workers: dict[str, dict[str, float]] = {}
    for pid, first_mb in first.items():
        seen = [sizes[pid] for _, sizes in samples if pid in sizes]
        workers[str(pid)] = {"first": first_mb, "last": last.get(pid, 0.0), "max": max(seen)}
    same_workers = len(first) == workers_expected and set(first) == set(last)
    flat = all(w["last"] <= w["first"] * factor + slack_mb for w in workers.values())
    return {
        "passed": same_workers and flat,
        "same_workers": same_workers,
        "workers": workers,
        "rule": f"last <= first x {factor} + {slack_mb} MB per worker (first: the first sample"
        f" at >= {warmup_s} s)",
    }


def redis_verdict(
    samples: Sequence[dict[str, Any]], redis_window: Window | None,
    factor: float = REDIS_GROWTH_FACTOR, slack_mb: float = REDIS_SLACK_MB,
) -> dict[str, Any]:  # fmt: skip
    """Redis used_memory: the last sample before the Redis fault against the last of the run (Redis
    restarts empty); flat when end <= before x factor + slack_mb, and never above maxmemory."""
    answered = [sample for sample in samples if sample.get("used_memory") is not None]
    before = [s for s in answered if redis_window is None or s["at"] < redis_window.start]
    if not before or (redis_window is not None and answered[-1] is before[-1]):
        return {"passed": False, "reason": "no sample before the Redis fault and after it"}
    start, end = before[-1], answered[-1]
    mb = 1024 * 1024
    peak = max(sample["used_memory"] for sample in answered)
    maxmemory = end["maxmemory"]
    bounded = maxmemory > 0 and peak <= maxmemory
    flat = end["used_memory"] <= start["used_memory"] * factor + slack_mb * mb
    return {
        "passed": flat and bounded,
        "before_fault_mb": round(start["used_memory"] / mb, 2),
        "end_mb": round(end["used_memory"] / mb, 2),
        "max_mb": round(peak / mb, 2),
        "maxmemory_mb": round(maxmemory / mb, 2),
        "keys_before_fault": start.get("keys"),
        "keys_end": end.get("keys"),
        "persistent_keys": {"before_fault": start.get("persistent_keys"), "end": end.get("persistent_keys")},
        "persistent_kb": {
            "before_fault": round(start.get("persistent_bytes", 0) / 1024, 1),
            "end": round(end.get("persistent_bytes", 0) / 1024, 1),
        },
        "rule": f"end <= before the Redis fault x {factor} + {slack_mb} MB, and max <= maxmemory",
    }


def sequence_verdict(
    before: dict[str, int | None], after: dict[str, int | None], job_runs_logged: int
) -> dict[str, Any]:
    """Every recs sequence unchanged, except the run log's, which advanced by the runs logged."""
    changed = {
        name: {"before": before.get(name), "after": value}
        for name, value in after.items()
        if not name.endswith("job_runs_id_seq") and value != before.get(name)
    }
    run_log = next((name for name in after if name.endswith("job_runs_id_seq")), None)
    run_log_step = None
    if run_log is not None:
        run_log_step = (after[run_log] or 0) - (before.get(run_log) or 0)
    passed = not changed and set(before) == set(after) and run_log_step == job_runs_logged
    return {
        "passed": passed,
        "before": before,
        "after": after,
        "changed": changed,
        "job_runs_id_seq_step": run_log_step,
    }


def runs_logged_verdict(job_calls: Sequence[JobCall], logged: dict[str, Any]) -> dict[str, Any]:
    """Every admin job call that got an answer (200, 409 or 500) left exactly one recs.job_runs row."""
    answered = sum(1 for call in job_calls if call.status in (200, 409, 500))
    return {
        "passed": answered == logged["rows"] and answered == len(job_calls),
        "calls": len(job_calls),
        "answered": answered,
        "logged": logged["rows"],
        "skipped": logged["skipped"],
        "failed": logged["failed"],
        "failed_sqlstates": logged["failed_sqlstates"],
    }


def latency_table(outcomes: Sequence[Outcome], windows: Sequence[Window]) -> dict[str, dict[str, Any]]:
    """p50/p99 (ms) per route: overall, and inside each fault window (answered requests only)."""
    table: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        answered = [o for o in outcomes if o.route == route and o.status]
        row: dict[str, Any] = {
            "overall": {"p50": percentile([o.ms for o in answered], 0.5),
                        "p99": percentile([o.ms for o in answered], 0.99), "n": len(answered)},
        }  # fmt: skip
        for window in windows:
            inside = [o.ms for o in answered if in_window(o.at, window)]
            row[window.name] = {
                "p50": percentile(inside, 0.5),
                "p99": percentile(inside, 0.99),
                "n": len(inside),
            }
        table[route] = row
    return table


def degraded_shares(
    outcomes: Sequence[Outcome], main_window: Window | None, breaker_open_s: float
) -> dict[str, Any]:
    """Share of answered /personalized with degraded: true inside the main outage, in the breaker's
    time after it (a worker skips main that long after a failure), and elsewhere."""
    answered = [o for o in outcomes if o.route == "POST /personalized" and o.degraded is not None]
    groups: dict[str, list[bool]] = defaultdict(list)
    for outcome in answered:
        if main_window and in_window(outcome.at, main_window):
            group = "inside_main_outage"
        elif main_window and in_window(outcome.at, main_window, breaker_open_s):
            group = "breaker_tail"
        else:
            group = "outside"
        groups[group].append(bool(outcome.degraded))
    return {
        name: {"share": round(sum(values) / len(values), 3) if values else None, "n": len(values)}
        for name in ("inside_main_outage", "breaker_tail", "outside")
        for values in [groups[name]]
    }


def cache_hit_shares(outcomes: Sequence[Outcome], redis_window: Window | None) -> dict[str, Any]:
    """Cache-hit share of answered recommendations, inside the Redis outage and outside it."""
    shares: dict[str, Any] = {}
    for route in ("POST /popular", "POST /personalized"):
        answered = [o for o in outcomes if o.route == route and o.cache_hit is not None]
        inside = [bool(o.cache_hit) for o in answered if redis_window and in_window(o.at, redis_window)]
        outside = [
            bool(o.cache_hit) for o in answered if not (redis_window and in_window(o.at, redis_window))
        ]
        shares[route] = {
            "inside_redis_outage": round(sum(inside) / len(inside), 3) if inside else None,
            "outside": round(sum(outside) / len(outside), 3) if outside else None,
        }
    return shares


def build_report(
    record: RunRecord,
    config: SoakConfig,
    settings: Settings,
    sequences: tuple[dict[str, Any], dict[str, Any]],
    logged: dict[str, Any],
    server_log: dict[str, int],
    scale: dict[str, int],
) -> dict[str, Any]:
    """The soak's numbers and its checks; report["passed"] only when every check passed."""
    windows = {window.name: window for window in record.windows}
    by_route: dict[str, dict[str, int]] = {
        route: dict(sorted(Counter(str(o.status) for o in record.outcomes if o.route == route).items()))
        for route in ROUTES
    }
    server_errors = [o for o in record.outcomes if o.status >= 500]
    unanswered = [o for o in record.outcomes if o.status == 0]
    job_outcomes: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for call in record.job_calls:
        job_outcomes[call.job][str(call.status)] += 1
    failed_calls = [
        {"job": c.job, "at": round(c.at, 1), "status": c.status,
         "in_main_outage": "main" in windows and overlaps(c.at, c.ms / 1000, windows["main"])}
        for c in record.job_calls if c.status != 200
    ]  # fmt: skip
    checks = {
        "traffic_5xx": {
            "passed": not server_errors and not unanswered and record.not_sent == 0,
            "server_errors": len(server_errors),
            "unanswered": len(unanswered),
            "unanswered_errors": dict(Counter(o.error or "" for o in unanswered)),
            "not_sent": record.not_sent,
            "first_server_errors": [asdict(o) for o in server_errors[:10]],
        },
        "rss_flat": rss_verdict(record.samples.rss, config.warmup_s, config.workers),
        "redis_flat": redis_verdict(record.samples.redis, windows.get("redis")),
        "sequences_unchanged": sequence_verdict(sequences[0], sequences[1], logged["rows"]),
        "job_runs_logged": runs_logged_verdict(record.job_calls, logged),
    }
    return {
        "passed": all(check["passed"] for check in checks.values()),
        "checks": checks,
        "config": asdict(config) | {"cache_ttl_s": CACHE_TTL_S, "redis_maxmemory": REDIS_MAXMEMORY},
        "scale": scale,
        "recs_db_outage_windows": [],
        "recs_db_note": "the recs database is never stopped: every 5xx of Rails traffic counts",
        "fault_windows": [asdict(window) for window in record.windows],
        "requests": {
            "sent": len(record.outcomes) + record.not_sent,
            "traffic_seconds": round(record.traffic_seconds, 1),
            "achieved_rate": round(len(record.outcomes) / record.traffic_seconds, 1)
            if record.traffic_seconds
            else None,
            "by_route_status": by_route,
        },
        "latency_ms": latency_table(record.outcomes, record.windows),
        "degraded_personalized": degraded_shares(
            record.outcomes, windows.get("main"), settings.main_breaker_open_s
        ),
        "cache_hit": cache_hit_shares(record.outcomes, windows.get("redis")),
        "jobs": {
            "outcomes": {job: dict(counts) for job, counts in job_outcomes.items()},
            "not_200": failed_calls,
            "max_seconds": {
                job: round(max(c.ms for c in record.job_calls if c.job == job) / 1000, 1)
                for job in job_outcomes
            },
            "runs_per_job": logged["per_job"],
        },
        "events_written": record.events_written,
        "event_write_failures": record.event_write_failures,
        "samples": {
            "rss_mb": [[at, {str(pid): mb for pid, mb in sizes.items()}] for at, sizes in record.samples.rss],
            "redis": record.samples.redis,
        },
        "server_log_warnings": server_log,
        "commit": git_commit(),
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as text: requests, latency, jobs, memory, sequences, and each check's verdict."""
    lines = ["fault windows (s since the traffic started): " + ", ".join(
        f"{w['name']} {w['start']:.0f}-{w['end']:.0f}" for w in report["fault_windows"]
    ) + "; the recs DB is never stopped (no recs outage window: every 5xx counts)"]  # fmt: skip
    requests = report["requests"]
    lines.append(
        f"requests: {requests['sent']:,} in {requests['traffic_seconds']} s ({requests['achieved_rate']}/s)"
    )
    windows = [w["name"] for w in report["fault_windows"]]
    header = f"{'route':<22}{'statuses':<28}{'p50':>8}{'p99':>8}"
    for name in windows:
        header += f"{name + ' p50':>12}{name + ' p99':>12}"
    lines.append(header)
    for route, statuses in requests["by_route_status"].items():
        latency = report["latency_ms"][route]
        row = f"{route:<22}{' '.join(f'{k}:{v}' for k, v in statuses.items()):<28}"
        row += f"{latency['overall']['p50']!s:>8}{latency['overall']['p99']!s:>8}"
        for name in windows:
            row += f"{latency[name]['p50']!s:>12}{latency[name]['p99']!s:>12}"
        lines.append(row)
    degraded = report["degraded_personalized"]
    lines.append(
        "/personalized degraded share: "
        + ", ".join(f"{k} {v['share']} (n={v['n']})" for k, v in degraded.items())
    )
    lines.append("cache hit share: " + "; ".join(
        f"{route} outside {v['outside']}, in Redis outage {v['inside_redis_outage']}"
        for route, v in report["cache_hit"].items()
    ))  # fmt: skip
    lines.append("admin job calls: " + "; ".join(
        f"{job} {' '.join(f'{k}:{v}' for k, v in sorted(counts.items()))}"
        f" (longest {report['jobs']['max_seconds'][job]} s)"
        for job, counts in report["jobs"]["outcomes"].items()
    ))  # fmt: skip
    for call in report["jobs"]["not_200"]:
        where = "during the main outage (expected)" if call["in_main_outage"] else "OUTSIDE the main outage"
        lines.append(f"  {call['job']} at {call['at']} s answered {call['status']} {where}")
    lines.append(
        f"events written to main: {report['events_written']:,}"
        f" ({report['event_write_failures']} failed writes)"
    )
    if report["server_log_warnings"]:
        lines.append(
            "server log: " + ", ".join(f"{k} x{v}" for k, v in report["server_log_warnings"].items())
        )
    checks = report["checks"]
    traffic = checks["traffic_5xx"]
    lines.append(f"[{'ok' if traffic['passed'] else 'FAIL'}] Rails traffic: {traffic['server_errors']} 5xx,"
                 f" {traffic['unanswered']} unanswered, {traffic['not_sent']} not sent")  # fmt: skip
    rss = checks["rss_flat"]
    sizes = ", ".join(f"{w['first']}/{w['last']}/{w['max']}" for w in rss.get("workers", {}).values())
    lines.append(
        f"[{'ok' if rss['passed'] else 'FAIL'}] worker RSS MB (first/last/max): {sizes}; same workers"
        f" throughout: {rss.get('same_workers')}; {rss.get('rule', rss.get('reason'))}"
    )
    redis_check = checks["redis_flat"]
    if "end_mb" in redis_check:
        lines.append(
            f"[{'ok' if redis_check['passed'] else 'FAIL'}] Redis used_memory MB: before the fault"
            f" {redis_check['before_fault_mb']}, end {redis_check['end_mb']}, max {redis_check['max_mb']},"
            f" maxmemory {redis_check['maxmemory_mb']}; keys {redis_check['keys_before_fault']} ->"
            f" {redis_check['keys_end']}; {redis_check['rule']}"
        )
    else:
        lines.append(f"[FAIL] Redis used_memory: {redis_check['reason']}")
    sequences = checks["sequences_unchanged"]
    lines.append(
        f"[{'ok' if sequences['passed'] else 'FAIL'}] sequences: "
        + ", ".join(f"{name} {value}" for name, value in sequences["after"].items())
        + f"; changed: {sequences['changed'] or 'none'}; job_runs_id_seq +{sequences['job_runs_id_seq_step']}"
    )
    runs = checks["job_runs_logged"]
    lines.append(
        f"[{'ok' if runs['passed'] else 'FAIL'}] job runs logged: {runs['answered']} answered calls of"
        f" {runs['calls']}, {runs['logged']} recs.job_runs rows ({runs['skipped']} skipped,"
        f" {runs['failed']} failed {runs['failed_sqlstates']})"
    )
    lines.append("soak: " + ("passed" if report["passed"] else "FAILED"))
    return "\n".join(lines)


# --- the whole soak ----------------------------------------------------------------------------


def run_soak(config: SoakConfig, path: Path = RESULTS_PATH) -> dict[str, Any]:
    """Private infrastructure, data, the served app, the soak itself; writes the JSON report."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request would drown the progress
    with private_infra() as infra, tempfile.TemporaryDirectory(prefix="mysanta-soak-logs-") as scratch:
        progress(
            f"private clusters: recs on {infra.recs_port}, main on {infra.main_port};"
            f" Redis on {infra.redis_port} (maxmemory {REDIS_MAXMEMORY}); state in {infra.state_dir}"
        )
        settings = soak_settings(infra)
        prepare_databases(infra, settings, config.preset)
        world = known_world(settings, random.Random(config.seed))  # noqa: S311 - sampling, not security
        scale = {"known_users": len(world.users), "available_presents": len(world.presents)}
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = (
            os.environ
            | settings_environ(settings)
            | {"PROMETHEUS_MULTIPROC_DIR": str(Path(scratch) / "metrics")}
        )
        command = [
            sys.executable,
            "-m",
            "service",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(config.workers),
        ]
        log_path = Path(scratch) / "serve.log"
        with running_process(command, env, f"{base_url}/health", log_path) as server:
            jobs = admin_job_names(base_url, settings)
            sequences_before = sequence_values(settings)
            runs_before = last_job_run_id(settings)
            progress(
                f"serving on {base_url} with {config.workers} workers; {config.rate:g} requests/s for"
                f" {config.seconds:g} s; jobs {', '.join(jobs)} x{config.job_rounds} each"
            )
            record = asyncio.run(soak(base_url, server.pid, infra, settings, world, jobs, config))
            progress("traffic done; reading the run log and sequences")
            sequences_after = sequence_values(settings)
            logged = job_runs_since(settings, runs_before)
        report = build_report(
            record, config, settings, (sequences_before, sequences_after), logged,
            server_log_summary(log_path), scale,
        )  # fmt: skip
    report["seconds"] = round(time.perf_counter() - _STARTED, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return report
