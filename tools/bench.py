"""Target-scale benchmark (`make bench`): refresh times, SQL latency, HTTP load against the framework,
and the cost curve: refresh times and SQL latency again at fractions of the target scale."""

from __future__ import annotations

import base64
import functools
import itertools
import json
import math
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import msgspec
import psycopg
from psycopg import sql

from service.bootstrap import bootstrap
from service.dsn import parse_pg_url
from service.jobs import refresh_job_names, run_jobs
from service.migrate import PROJECT_DIR, migrate
from service.models import AGE_GROUPS
from service.settings import Settings, settings_environ
from tools.evaluate import eval_settings, git_commit
from tools.generate import PRESETS, DataSize, generate, main_is_empty, sync_demo_demographics
from tools.processes import running_process, worker_rss_by_pid

RESULTS_PATH = PROJECT_DIR / "bench" / "results" / "latest.json"
CONCURRENCY = (1, 16, 64)
NEW_EVENTS = 20_000  # likes and clicks added between the full and the incremental refresh runs
SQL_REQUESTS = 1_000
SQL_WARMUP = 50
BENCH_USER, BENCH_PASSWORD = "bench", "bench-password-for-wrk"
BENCH_ADMIN_USER, BENCH_ADMIN_PASSWORD = "bench-admin", "bench-admin-password-unused"
RANDOM_SEED = 7
SCALE_SERIES = (0.25, 0.5, 1.0)  # the cost curve's points, as fractions of the benchmark's scale
GENDERS = ("m", "f")
CATEGORIES = ("books", "electronics", "toys", "home", "beauty", "sports", "food", "fashion", "games")
_STARTED = time.perf_counter()
# How busy the machine was before the benchmark added its own load (1, 5 and 15 minute averages of
# runnable processes, os.getloadavg): the module is imported when `tools bench` starts.
_LOAD_AT_START = os.getloadavg()


def progress(message: str) -> None:
    """One line of progress, with the seconds since the benchmark started."""
    print(f"[bench {time.perf_counter() - _STARTED:6.0f} s] {message}", flush=True)


@dataclass(frozen=True)
class BenchConfig:
    """Where the benchmark runs: its own databases, Redis database and ports, never the service's."""

    superuser_url: str
    main_db: str = "mysanta_bench_main"
    recs_db: str = "mysanta_bench_recs"
    redis_db: int = 15
    port: int = 8100
    baseline_port: int = 8101
    workers: int = 2
    load_seconds: int = 8
    size: DataSize = PRESETS["target"]
    series: tuple[float, ...] = SCALE_SERIES

    def at_scale(self, factor: float) -> BenchConfig:
        """The same benchmark on factor times the data, in its own main and recs databases."""
        if factor == 1:
            return self
        return replace(
            self,
            main_db=scaled_name(self.main_db, factor),
            recs_db=scaled_name(self.recs_db, factor),
            size=self.size.scaled(factor),
        )


def scaled_name(name: str, factor: float) -> str:
    """A database name for factor times the data: mysanta_bench_main at 0.25 is mysanta_bench_main_x0_25."""
    return name if factor == 1 else f"{name}_x{factor:g}".replace(".", "_")


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 (inclusive method) of latencies in milliseconds, rounded to 0.01 ms."""
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {"p50": round(cuts[49], 2), "p95": round(cuts[94], 2), "p99": round(cuts[98], 2)}


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str) -> dict[str, float]:
    """Requests/s, p50/p95/p99 latency (ms) and errors (non-2xx and socket errors) from `wrk --latency`
    output; p95 from the `p95_us` line the benchmark's script prints when it is done (wrk's own
    distribution lists 50/75/90/99 only), when present."""

    def latency(percent: str) -> float:
        match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
        if not match:
            raise ValueError(f"no {percent}% latency in wrk output")
        return round(float(match.group(1)) * _WRK_UNITS[match.group(2)], 3)

    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    if not rps:
        raise ValueError("no Requests/sec in wrk output")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", output))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket:
        errors += sum(int(n) for n in socket.groups())
    measured = {"rps": round(float(rps.group(1)), 1), "p50_ms": latency("50")}
    p95 = re.search(r"^p95_us (\d+)\s*$", output, re.MULTILINE)
    if p95:
        measured["p95_ms"] = round(int(p95.group(1)) / 1000, 3)
    return measured | {"p99_ms": latency("99"), "errors": errors}


# --- data ---------------------------------------------------------------------------------------


def bench_settings(settings: Settings, config: BenchConfig) -> Settings:
    """The service's roles, pointed at the benchmark databases and Redis database."""
    target = eval_settings(settings, config.main_db, config.recs_db)
    redis_url = re.sub(
        r"(/\d+)?$", f"/{config.redis_db}", settings.recommendations_redis_url.split("?")[0], count=1
    )
    return msgspec.structs.replace(target, recommendations_redis_url=redis_url)


def main_admin_url(config: BenchConfig) -> str:
    """The superuser's URL for the benchmark main database (the generator and event writer use it)."""
    return parse_pg_url(config.superuser_url).with_dbname(config.main_db)


def prepare_main(config: BenchConfig, target: Settings) -> dict[str, int]:
    """Create and fill the benchmark main database once (4 min at the target scale); later runs reuse it."""
    bootstrap(config.superuser_url, target, dev_main=True)
    admin = main_admin_url(config)
    if main_is_empty(admin):
        progress(f"generating the main database {config.main_db} (once; about 4 minutes at the target scale)")
        generate(admin, config.size)
    with psycopg.connect(admin) as main:
        row = main.execute(
            "SELECT count(*) FILTER (WHERE user_id IS NULL), count(*) FILTER (WHERE user_id IS NOT NULL),"
            " (SELECT count(*) FROM users), (SELECT count(*) FROM handpicked_likes),"
            " (SELECT count(*) FROM handpicked_present_clicks) FROM handpicked_presents"
        ).fetchone()
    assert row is not None
    scale = dict(zip(("public_presents", "private_presents", "users", "likes", "clicks"), row, strict=True))
    progress("main database: " + ", ".join(f"{key} {value:,}" for key, value in scale.items()))
    return scale


def fresh_recs(config: BenchConfig, target: Settings) -> None:
    """Recreate the benchmark recs database, migrate it (no cron) and sync every user's demographics."""
    with psycopg.connect(config.superuser_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(config.recs_db))
        )
    bootstrap(config.superuser_url, target)
    migrate(target, schedule=False)
    progress("syncing demographics through api.upsert_user_demographics")
    synced = sync_demo_demographics(main_admin_url(config), target.recommendations_database_url)
    progress(f"{synced:,} users' demographics synced")


def recs_is_refreshed(target: Settings) -> bool:
    """True when the benchmark recs database exists and every refresh job has succeeded there."""
    try:
        with psycopg.connect(target.recommendations_owner_database_url, connect_timeout=5) as recs:
            row = recs.execute(
                "SELECT count(*) FROM recs.refresh_jobs() j WHERE NOT EXISTS (SELECT 1 FROM recs.job_runs r"
                " WHERE r.job = j.job AND r.error IS NULL)"
            ).fetchone()
    except psycopg.Error:
        return False
    return row == (0,)


def add_events(config: BenchConfig, count: int) -> list[uuid.UUID]:
    """Add count likes and clicks (half each) by random users on random public presents; returns their ids."""
    ids = [uuid.uuid4() for _ in range(count)]
    half = count // 2
    with psycopg.connect(main_admin_url(config), autocommit=True) as main:
        main.execute("SELECT setseed(0.3)")
        for table, chunk in (("handpicked_likes", ids[:half]), ("handpicked_present_clicks", ids[half:])):
            main.execute(
                f"""
                WITH u AS (SELECT array_agg(id) AS ids FROM users),
                     p AS (SELECT array_agg(id) AS ids FROM handpicked_presents WHERE user_id IS NULL)
                INSERT INTO {table} (id, user_id, handpicked_present_id, created_at)
                SELECT e.id, u.ids[1 + floor(random() * cardinality(u.ids))::int],
                       p.ids[1 + floor(random() * cardinality(p.ids))::int], now()
                FROM unnest(%s::uuid[]) AS e(id), u, p
                ON CONFLICT DO NOTHING
                """,
                (chunk,),
            )
    return ids


def remove_events(config: BenchConfig, ids: list[uuid.UUID]) -> None:
    """Delete the events add_events wrote, so the next run starts from the generated data again."""
    with psycopg.connect(main_admin_url(config), autocommit=True) as main:
        main.execute("DELETE FROM handpicked_likes WHERE id = ANY (%s)", (ids,))
        main.execute("DELETE FROM handpicked_present_clicks WHERE id = ANY (%s)", (ids,))


def _timed_jobs(target: Settings, stage: str, steps: dict[str, dict[str, float]]) -> dict[str, float]:
    """Run the refresh jobs in order (as `python -m service refresh` does); seconds per job.

    Each job's steps (recs.job_runs.details.steps_ms) go into steps, in seconds, largest first.
    """
    seconds = {}
    for job in refresh_job_names(target):
        progress(f"{stage}: {job} ...")
        logged = run_jobs(target, [job])[0]
        seconds[job] = round(logged.duration_ms / 1000, 1)
        by_step = sorted(logged.steps_ms.items(), key=lambda item: -item[1])
        steps[job] = {step: round(ms / 1000, 1) for step, ms in by_step}
        largest = ", ".join(f"{step} {ms / 1000:.1f}" for step, ms in by_step[:3])
        progress(f"{stage}: {job} {logged.rows:,} rows in {seconds[job]} s (largest steps, s: {largest})")
    return seconds


def similarity_caps(target: Settings) -> dict[str, int | None]:
    """The caps the last full runs chose to fit their budgets: a present offers at most degree_cap users
    as candidates (the similarity job), and item neighbours read item_history_cap interactions a user
    (refresh_item_neighbors; design.md, "A budget, not a fixed cap"); a larger catalogue lowers both."""
    with psycopg.connect(target.recommendations_owner_database_url) as owner:
        row = owner.execute(
            "SELECT (SELECT (details->>'degree_cap')::int FROM recs.sync_state"
            "        WHERE source = 'user_similarities'),"
            " (SELECT (details->>'item_history_cap')::int FROM recs.sync_state"
            "        WHERE source = 'item_neighbors')"
        ).fetchone()
    degree_cap, item_history_cap = row or (None, None)
    return {"degree_cap": degree_cap, "item_history_cap": item_history_cap}


def time_refreshes(config: BenchConfig, target: Settings) -> dict[str, Any]:
    """Every refresh job from an empty recs database, then again after NEW_EVENTS new events."""
    started = time.perf_counter()
    steps: dict[str, dict[str, dict[str, float]]] = {"from_empty": {}, "incremental": {}}
    full = _timed_jobs(target, "refresh from empty", steps["from_empty"])
    everything = round(time.perf_counter() - started, 1)
    caps = similarity_caps(target)
    progress(f"adding {NEW_EVENTS:,} new likes and clicks to main")
    ids = add_events(config, NEW_EVENTS)
    try:
        again = _timed_jobs(target, "incremental", steps["incremental"])
    finally:
        remove_events(config, ids)
    popular, profiles, similarities, item_lists, learned = (
        "refresh_popular_items",
        "refresh_user_profiles",
        "refresh_user_similarities",
        "refresh_item_neighbors",
        "refresh_learned_weights",
    )
    return {
        "popular": full[popular],
        "profiles": full[profiles],
        "similarities_full": full[similarities],
        "item_neighbors": full[item_lists],
        "learned_weights": full[learned],
        "all": everything,
        "similarities_incremental": again[similarities],
        "incremental": {
            "popular": again[popular],
            "profiles": again[profiles],
            "similarities": again[similarities],
            "item_neighbors": again[item_lists],  # after an incremental run the lists stay: only the check
            "learned_weights": again[learned],  # so do the weights
        },
        "steps": steps,
        "similarity_caps": caps,
    }


# --- SQL latency --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Samples:
    """Users served by each tier, drawn once for every measurement."""

    collaborative: list[uuid.UUID]
    content_based: list[uuid.UUID]
    popular: list[uuid.UUID]
    presents: list[uuid.UUID]  # available public presents with item neighbours, for /similar


def sample_users(target: Settings, count: int) -> Samples:
    """Random users served by each tier (by synced interaction count), deterministic for one database."""
    with psycopg.connect(target.recommendations_owner_database_url) as owner:
        owner.execute("SELECT setseed(0.7)")

        def users(query: str) -> list[uuid.UUID]:
            return [row[0] for row in owner.execute(query, (count,)).fetchall()]

        never_seen = [uuid.uuid5(uuid.NAMESPACE_URL, f"mysanta-bench-new-user-{n}") for n in range(count)]
        return Samples(
            collaborative=users(
                "SELECT u.user_id FROM recs.users u JOIN recs.user_stats s USING (user_key)"
                " WHERE s.interactions >= 3 ORDER BY random() LIMIT %s"
            ),
            content_based=users(
                "SELECT u.user_id FROM recs.users u JOIN recs.user_stats s USING (user_key)"
                " WHERE s.interactions BETWEEN 1 AND 2 ORDER BY random() LIMIT %s"
            ),
            # Users with demographics and no interactions, else users the service has never seen.
            popular=users(
                "SELECT u.user_id FROM recs.users u JOIN recs.user_demographics d USING (user_key)"
                " WHERE NOT EXISTS (SELECT 1 FROM recs.interactions x WHERE x.user_key = u.user_key)"
                " ORDER BY random() LIMIT %s"
            )
            or never_seen,
            presents=users(
                "SELECT i.present_id FROM recs.items i JOIN recs.item_neighbors n USING (item_id)"
                " WHERE i.available ORDER BY random() LIMIT %s"
            ),
        )


def popular_arguments(rng: random.Random, kind: str) -> tuple[Any, ...]:
    """api.popular's arguments for one random request: exact segment, filtered, or global."""
    gender, group = rng.choice(GENDERS), rng.choice(AGE_GROUPS)
    if kind == "global":
        return (None, None, None, None, None, None, None, None, 1, 20)
    if kind == "filtered":
        low = rng.randrange(5, 150)
        return (
            gender,
            group,
            None,
            None,
            low,
            low + rng.randrange(10, 100),
            rng.choice(CATEGORIES),
            None,
            1,
            20,
        )
    return (gender, group, None, None, None, None, None, None, 1, 20)


def one_user(rng: random.Random, users: Sequence[uuid.UUID]) -> tuple[uuid.UUID]:
    """api.personalized's only varying argument: a random user of the tier."""
    return (rng.choice(users),)


def similar_arguments(
    rng: random.Random, samples: Samples, with_user: bool
) -> tuple[uuid.UUID, uuid.UUID | None]:
    """api.similar's varying arguments: a random present with neighbours, and a random
    collaborative-tier user or none."""
    return (rng.choice(samples.presents), rng.choice(samples.collaborative) if with_user else None)


# The relations requests read are those whose autovacuum threshold the migrations lower to 1 %:
# read from the catalogue, so a new one is vacuumed here as soon as its migration says so.
SERVING_RELATIONS_SQL = """
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'recs' AND 'autovacuum_vacuum_scale_factor=0.01' = ANY (c.reloptions)
    ORDER BY c.relname"""


def vacuum_serving_relations(target: Settings) -> None:
    """VACUUM what requests read, as autovacuum does within a minute or so of a refresh (migration
    0013): serving is measured in that steady state, not in the window right after a refresh."""
    with psycopg.connect(target.recommendations_owner_database_url, autocommit=True) as owner:
        for (name,) in owner.execute(SERVING_RELATIONS_SQL).fetchall():
            started = time.perf_counter()
            owner.execute(sql.SQL("VACUUM {}").format(sql.Identifier("recs", name)))
            progress(f"vacuum recs.{name}: {time.perf_counter() - started:.1f} s")


def sql_latency(target: Settings, samples: Samples) -> dict[str, Any]:
    """SQL_REQUESTS random calls of each api function and tier as the app role, prepared as the app's are."""
    rng = random.Random(RANDOM_SEED)  # noqa: S311 - benchmark sampling, not security
    popular_sql = "SELECT * FROM api.popular(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    personalized_sql = "SELECT * FROM api.personalized(%s, NULL, NULL, NULL, NULL, NULL, 1, 20, NULL)"
    similar_sql = "SELECT * FROM api.similar(%s, %s, NULL, NULL, NULL, NULL, NULL, 1, 20, NULL)"
    results: dict[str, Any] = {}
    popular_timings: list[float] = []
    with psycopg.connect(target.recommendations_database_url, autocommit=True) as app:

        def measure(name: str, query: str, arguments: Callable[[], tuple[Any, ...]]) -> list[float]:
            timings = []
            for index in range(SQL_WARMUP + SQL_REQUESTS):
                values = arguments()
                started = time.perf_counter_ns()
                row = app.execute(query, values, prepare=True).fetchone()
                elapsed = (time.perf_counter_ns() - started) / 1e6
                assert row is not None
                if index >= SQL_WARMUP:
                    timings.append(elapsed)
            results[name] = percentiles(timings)
            progress(f"sql {name}: " + ", ".join(f"{k} {v} ms" for k, v in results[name].items()))
            return timings

        for kind in ("exact", "filtered", "global"):
            popular_timings += measure(
                f"popular_{kind}", popular_sql, functools.partial(popular_arguments, rng, kind)
            )
        for tier in ("popular", "content_based", "collaborative"):
            users: list[uuid.UUID] = getattr(samples, tier)
            if not users:
                continue
            measure(f"personalized_{tier}", personalized_sql, functools.partial(one_user, rng, users))
        if samples.presents and samples.collaborative:
            for name, with_user in (("similar_anonymous", False), ("similar_user", True)):
                measure(name, similar_sql, functools.partial(similar_arguments, rng, samples, with_user))
    results["popular"] = percentiles(popular_timings)  # the three kinds together
    return results


def serving_sql(target: Settings) -> tuple[Samples, dict[str, Any]]:
    """Users of each tier, the vacuum that follows a refresh, then the SQL latency of every api function."""
    samples = sample_users(target, 20_000)
    progress(
        f"sampled users: {len(samples.collaborative):,} collaborative,"
        f" {len(samples.content_based):,} content-based, {len(samples.popular):,} popular;"
        f" {len(samples.presents):,} presents with neighbours"
    )
    vacuum_serving_relations(target)
    return samples, sql_latency(target, samples)


# --- HTTP ---------------------------------------------------------------------------------------


def _server_env(target: Settings) -> dict[str, str]:
    credentials = msgspec.structs.replace(
        target,
        basic_auth_username=BENCH_USER,
        basic_auth_password=BENCH_PASSWORD,
        admin_basic_auth_username=BENCH_ADMIN_USER,
        admin_basic_auth_password=BENCH_ADMIN_PASSWORD,
        debug=False,
        log_level="INFO",
    )
    return os.environ | settings_environ(credentials)


def worker_rss_mb(process: subprocess.Popen[bytes]) -> list[float]:
    """Resident memory (MB) of each uvicorn worker: the server's child processes."""
    return list(worker_rss_by_pid(process.pid).values())


_LUA = """
local bodies = {}
local path = "%(path)s"
local counter = 0
local function load()
  if path == "" then return end
  for line in io.lines(path) do bodies[#bodies + 1] = line end
end
load()
wrk.method = "%(method)s"
wrk.headers["Authorization"] = "Basic %(token)s"
wrk.headers["Content-Type"] = "application/json"
function setup(thread) thread:set("offset", math.random(1, 1000000)) end
function request()
  if #bodies == 0 then return wrk.format(nil, "%(url_path)s") end
  counter = counter + 1
  return wrk.format(nil, "%(url_path)s", nil, bodies[((offset or 0) + counter) %% #bodies + 1])
end
function done(summary, latency, requests)
  io.write(string.format("p95_us %%d\\n", latency:percentile(95.0)))
end
"""


def wrk(
    url: str, url_path: str, method: str, bodies: Path | None, connections: int, seconds: int, scripts: Path
) -> dict[str, float]:
    """One bounded wrk run on loopback; returns rps and p50/p99 in ms."""
    token = base64.b64encode(f"{BENCH_USER}:{BENCH_PASSWORD}".encode()).decode()
    script = scripts / f"{abs(hash((url_path, str(bodies), connections)))}.lua"
    script.write_text(_LUA % {"path": bodies or "", "method": method, "token": token, "url_path": url_path})
    threads = min(2, connections)
    done = subprocess.run(  # noqa: S603 - wrk from PATH with our own arguments
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],  # noqa: S607
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    )  # fmt: skip
    return parse_wrk(done.stdout)


def flush_redis(target: Settings) -> None:
    """Empty the benchmark's Redis database (cache misses start from nothing)."""
    import redis

    client = redis.Redis.from_url(target.recommendations_redis_url)
    client.flushdb()
    client.close()


def write_bodies(path: Path, bodies: Sequence[dict[str, Any]]) -> Path:
    """One JSON request body per line, for the wrk script."""
    path.write_text("".join(json.dumps(body, separators=(",", ":")) + "\n" for body in bodies))
    return path


def http_load(config: BenchConfig, target: Settings, samples: Samples) -> tuple[dict[str, Any], list[float]]:
    """wrk against the bare framework, cache hits and cache misses, at each concurrency."""
    rng = random.Random(RANDOM_SEED)  # noqa: S311 - benchmark sampling, not security
    env = _server_env(target)
    python = sys.executable
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="mysanta-bench-") as scratch:
        scripts = Path(scratch)
        baseline_cmd = [
            python, "-m", "uvicorn", "tools.bench_baseline:app", "--port", str(config.baseline_port),
            "--workers", str(config.workers), "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        url = f"http://127.0.0.1:{config.baseline_port}"
        with running_process(baseline_cmd, env, f"{url}/ping", scripts / "baseline.log"):
            results["baseline"] = {}
            for c in CONCURRENCY:
                results["baseline"][f"c{c}"] = wrk(url, "/ping", "GET", None, c, config.load_seconds, scripts)
                progress(f"http baseline c{c}: {results['baseline'][f'c{c}']}")
        hit_popular = write_bodies(
            scripts / "popular-hit.jsonl", [{"user_params": {"gender": "f", "age_group": "25-34"}}]
        )
        hit_personal = write_bodies(
            scripts / "personalized-hit.jsonl", [{"user_id": str(samples.collaborative[0])}]
        )
        miss_popular = write_bodies(
            scripts / "popular-miss.jsonl",
            [
                {
                    "user_params": {
                        "gender": rng.choice(("m", "f")),
                        "age_group": rng.choice(AGE_GROUPS),
                    },
                    "filters": {
                        "price_from": low,
                        "price_to": low + rng.randrange(5, 200),
                        "category": rng.choice(CATEGORIES),
                    },
                }
                for low in (rng.randrange(1, 300) for _ in range(50_000))
            ],
        )
        similar_hit = [{"present_id": str(present)} for present in samples.presents[:1]]
        hit_similar = write_bodies(scripts / "similar-hit.jsonl", similar_hit)
        miss_similar = write_bodies(
            scripts / "similar-miss.jsonl",
            [
                {"present_id": str(present), "pagination": {"page": page, "limit": 20}}
                for present in samples.presents
                for page in (1, 2, 3)
            ],
        )
        users = samples.collaborative + samples.content_based + samples.popular
        rng.shuffle(users)
        miss_personal = write_bodies(
            scripts / "personalized-miss.jsonl",
            [
                {"user_id": str(user), "pagination": {"page": page, "limit": 20}}
                for user in users
                for page in (1, 2, 3)
            ],
        )
        service_cmd = [
            python,
            "-m",
            "service",
            "serve",
            "--port",
            str(config.port),
            "--workers",
            str(config.workers),
        ]
        url = f"http://127.0.0.1:{config.port}"
        loads = [
            ("popular_hit", "/popular", hit_popular, False),
            ("personalized_hit", "/personalized", hit_personal, False),
            ("popular_miss", "/popular", miss_popular, True),
            ("personalized_miss", "/personalized", miss_personal, True),
        ]
        if samples.presents:  # none has item neighbours on a very small catalogue
            loads += [
                ("similar_hit", "/similar", hit_similar, False),
                ("similar_miss", "/similar", miss_similar, True),
            ]
        with running_process(service_cmd, env, f"{url}/health", scripts / "service.log") as process:
            for name, path, bodies, flush in loads:
                results[name] = {}
                for c in CONCURRENCY:
                    if flush:
                        flush_redis(target)
                    else:
                        wrk(url, path, "POST", bodies, 4, 1, scripts)  # warm the cache and the pools
                    results[name][f"c{c}"] = wrk(url, path, "POST", bodies, c, config.load_seconds, scripts)
                    progress(f"http {name} c{c}: {results[name][f'c{c}']}")
            rss = worker_rss_mb(process)
    return results, rss


def instances_step(config: BenchConfig, target: Settings, samples: Samples) -> dict[str, Any]:
    """Cache hits through one instance, through nginx, and through nginx balancing two instances
    (tools/bench_instances.py); bounded: about 40 s."""
    from tools import bench_instances

    env = _server_env(target)
    with tempfile.TemporaryDirectory(prefix="mysanta-bench-instances-") as scratch:
        directory = Path(scratch)
        os.chmod(directory, 0o755)  # noqa: S103 - nginx's workers read their configuration here
        loads = {
            "popular_hit": (
                "/popular",
                write_bodies(directory / "popular.jsonl", [{"user_params": {"gender": "f"}}]),
            ),
            "personalized_hit": (
                "/personalized",
                write_bodies(directory / "personalized.jsonl", [{"user_id": str(samples.collaborative[0])}]),
            ),
        }
        results = bench_instances.instances_load(env, config.port + 2, loads, directory, wrk)
    progress(f"instances: {bench_instances.summary(results)}")
    return {"c": bench_instances.CONNECTIONS, "seconds": bench_instances.SECONDS, **results,
            "rps_over_one_instance": bench_instances.summary(results)}  # fmt: skip


def recording_step(config: BenchConfig, target: Settings, samples: Samples) -> dict[str, Any]:
    """The serving cost of recording served pages (tools/bench_recording.py): personalised cache
    hits of a hundred collaborative-tier users, as many of them in the recording sample as the
    configured online_record_share says, with the share 0 and at that value, interleaved; about 80 s."""
    from tools import bench_recording

    share = bench_recording.configured_share(target.recommendations_owner_database_url)
    users = bench_recording.recording_users([str(user) for user in samples.collaborative], float(share))
    with tempfile.TemporaryDirectory(prefix="mysanta-bench-recording-") as scratch:
        directory = Path(scratch)
        bodies = write_bodies(directory / "personalized.jsonl", [{"user_id": user} for user in users])
        recording = bench_recording.recording_load(
            _server_env(target), config.port, config.superuser_url, target.recommendations_owner_database_url,
            target.recommendations_redis_url, bodies, directory, wrk, target.data_version_max_age_ms / 1000,
            share,
        )  # fmt: skip
    progress(bench_recording.format_recording(recording))
    return recording


def run_step_only(
    settings: Settings, config: BenchConfig, key: str,
    step: Callable[[BenchConfig, Settings, Samples], dict[str, Any]], path: Path = RESULTS_PATH,
) -> dict[str, Any]:  # fmt: skip
    """Only one HTTP step (instances_step, recording_step) on the last run's recs database; its
    result replaces `key` in the results file, the rest of the file kept."""
    target = bench_settings(settings, config)
    if not recs_is_refreshed(target):
        raise SystemExit(f"{config.recs_db} holds no refreshed data: run make bench first")
    migrate(target, schedule=False)
    samples = sample_users(target, 1_000)  # the recording step picks a hundred users among them
    measured = step(config, target, samples)
    report = json.loads(path.read_text()) if path.exists() else {}
    report[key] = measured | {"commit": git_commit()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return report


# --- cost curve ---------------------------------------------------------------------------------

CURVE_GROUPS = ("refresh_s", "incremental_s", "sql_p95_ms")


def curve_point(
    factor: float, scale: dict[str, int], refresh: dict[str, Any], sql_ms: dict[str, Any]
) -> dict[str, Any]:
    """One point of the cost curve from one scale's measurements: sizes, refresh times, SQL p95."""
    return {
        "factor": factor,
        "sizes": scale,
        "refresh_s": {
            "popular": refresh["popular"],
            "profiles": refresh["profiles"],
            "similarities": refresh["similarities_full"],
            "item_neighbors": refresh["item_neighbors"],
            "learned_weights": refresh["learned_weights"],
            "all": refresh["all"],
        },
        "incremental_s": dict(refresh["incremental"]),
        "sql_p95_ms": {name: values["p95"] for name, values in sql_ms.items()},
        "similarity_caps": refresh.get("similarity_caps", {}),
    }


def measure_scale(settings: Settings, config: BenchConfig, factor: float) -> dict[str, Any]:
    """The refresh and SQL steps of the benchmark on factor times its data, in that scale's own databases."""
    scaled = config.at_scale(factor)
    target = bench_settings(settings, scaled)
    progress(f"cost curve at {factor:g}x the scale: {scaled.main_db}, {scaled.recs_db}")
    scale = prepare_main(scaled, target)
    fresh_recs(scaled, target)
    refresh = time_refreshes(scaled, target)
    _, sql_ms = serving_sql(target)
    return curve_point(factor, scale, refresh, sql_ms)


def cost_curve(settings: Settings, config: BenchConfig, full: dict[str, Any]) -> list[dict[str, Any]]:
    """Every point of config.series, smallest first; the full scale's point is the one already measured."""
    return [
        full if factor == 1 else measure_scale(settings, config, factor) for factor in sorted(config.series)
    ]


def _growth(before: float | None, after: float | None, doublings: float) -> float | None:
    if before is None or after is None or before <= 0 or doublings <= 0:
        return None
    return round(math.pow(after / before, 1 / doublings), 2)


def growth_per_doubling(points: Sequence[dict[str, Any]]) -> dict[str, dict[str, dict[str, float | None]]]:
    """Each measure's growth per doubling of the data between neighbouring points: (t_b / t_a) raised to
    1 / log2(f_b / f_a), so 2.0 is linear whatever the step; None where a measure is missing or zero."""
    ordered = sorted(points, key=lambda point: point["factor"])
    growth = {}
    for small, large in itertools.pairwise(ordered):
        doublings = math.log2(large["factor"] / small["factor"])
        growth[f"{small['factor']:g}->{large['factor']:g}"] = {
            group: {
                name: _growth(small[group].get(name), value, doublings)
                for name, value in large[group].items()
            }
            for group in CURVE_GROUPS
        }
    return growth


def curve_report(points: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The report's scale_series (keyed by factor, smallest first) and growth_per_doubling."""
    ordered = sorted(points, key=lambda point: point["factor"])
    return {
        "scale_series": {f"{point['factor']:g}": point for point in ordered},
        "growth_per_doubling": growth_per_doubling(ordered),
    }


def format_cost_curve(points: Sequence[dict[str, Any]], growth: dict[str, Any]) -> str:
    """The cost curve as a text table: one row per measure, a column per scale, then growth per doubling."""
    if not points:
        return "cost curve: not measured"
    ordered = sorted(points, key=lambda point: point["factor"])
    columns = [f"x{point['factor']:g}" for point in ordered] + list(growth)
    width = max(10, *(len(column) + 2 for column in columns))
    lines = [
        "cost curve (a->b: growth per doubling of the data from a to b times the scale; 2.0 is linear)",
        f"{'':<42}" + "".join(f"{column:>{width}}" for column in columns),
    ]
    for name in ("users", "likes", "clicks", "public_presents"):
        lines.append(f"{name:<42}" + "".join(f"{point['sizes'].get(name, 0):>{width},}" for point in ordered))
    for name in ("degree_cap", "item_history_cap"):
        caps = [point.get("similarity_caps", {}).get(name) for point in ordered]
        lines.append(
            f"{'similarity ' + name:<42}" + "".join(f"{'-' if cap is None else cap:>{width}}" for cap in caps)
        )
    labels = {"refresh_s": "from empty (s)", "incremental_s": f"after {NEW_EVENTS // 1000}k events (s)",
              "sql_p95_ms": "sql p95 (ms)"}  # fmt: skip
    for group in CURVE_GROUPS:
        names = list(dict.fromkeys(name for point in reversed(ordered) for name in point[group]))
        for name in names:
            values = [point[group].get(name) for point in ordered]
            values += [step[group].get(name) for step in growth.values()]
            cells = "".join(f"{'-' if value is None else value:>{width}}" for value in values)
            lines.append(f"{labels[group] + ' ' + name:<42}" + cells)
    return "\n".join(lines)


# --- report -------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """Cores and memory of this machine, and its load averages (1, 5, 15 minutes) when the benchmark
    started, before its own work, and when it ended, with it: how busy the machine was."""
    meminfo = Path("/proc/meminfo").read_text()
    total_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))  # type: ignore[union-attr]
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(total_kb / 1024 / 1024, 1),
        "load_average_at_start": [round(value, 2) for value in _LOAD_AT_START],
        "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as fixed-width text tables."""
    lines = ["scale: " + ", ".join(f"{k} {v:,}" for k, v in report["scale"].items())]
    totals = {k: v for k, v in report["refresh_s"].items() if isinstance(v, float | int)}
    lines.append("refresh (s): " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    lines.append(f"{'sql (ms)':<30}{'p50':>8}{'p95':>8}{'p99':>8}")
    for name, values in report["sql_ms"].items():
        lines.append(f"{name:<30}{values['p50']:>8}{values['p95']:>8}{values['p99']:>8}")
    lines.append(
        f"{'http':<20}"
        + "".join(f"{'c' + str(c) + ' rps':>11}{'p50':>7}{'p95':>7}{'p99':>7}" for c in CONCURRENCY)
    )
    for name, levels in report["http"].items():
        row = f"{name:<20}"
        for c in CONCURRENCY:
            m = levels[f"c{c}"]
            row += f"{m['rps']:>11}{m['p50_ms']:>7}{m.get('p95_ms', '-'):>7}{m['p99_ms']:>7}"
        lines.append(row)
    lines.append(f"hit / baseline at c16: {report['ratio_hit_to_baseline_c16']}")
    lines.append(f"rss per worker (MB): {report['rss_mb_per_worker']}")
    if "instances" in report:
        lines.append(format_instances(report["instances"]))
    if "recording" in report:
        from tools.bench_recording import format_recording

        lines.append(format_recording(report["recording"]))
    if "scale_series" in report:
        lines.append(format_cost_curve(list(report["scale_series"].values()), report["growth_per_doubling"]))
    lines.append(f"{report['seconds']} s; machine {report['machine']}; commit {report['commit']}")
    return "\n".join(lines)


def format_instances(instances: dict[str, Any]) -> str:
    """The instances step as a small table: rps and p99 per setup and load."""
    lines = [f"instances (c{instances['c']}, {instances['seconds']} s each; 2 cores: overhead, not speed-up)"]
    for setup in ("one_instance", "one_instance_proxied", "two_instances_proxied"):
        cells = [f"{name} {m['rps']} rps p99 {m['p99_ms']} ms" for name, m in instances[setup].items()]
        lines.append(f"  {setup:<24}" + "; ".join(cells))
    return "\n".join(lines)


def build_report(
    *,
    scale: dict[str, int],
    refresh: dict[str, Any],
    refresh_commit: str | None,
    sql_ms: dict[str, Any],
    http: dict[str, Any],
    rss: list[float],
    curve: dict[str, Any],
    workers: int,
) -> dict[str, Any]:
    """The JSON report of one run: the full scale's measurements, then the cost curve, then the context."""
    hit_ratio = (
        min(http["popular_hit"]["c16"]["rps"], http["personalized_hit"]["c16"]["rps"])
        / http["baseline"]["c16"]["rps"]
    )
    return {
        "scale": scale,
        "refresh_s": refresh,
        "refresh_commit": refresh_commit,
        "sql_ms": sql_ms,
        "http": http,
        "ratio_hit_to_baseline_c16": round(hit_ratio, 3),
        "rss_mb_per_worker": max(rss) if rss else None,
        "rss_mb_workers": rss,
        **curve,
        "workers": workers,
        "machine": machine(),
        "seconds": round(time.perf_counter() - _STARTED, 1),
        "commit": git_commit(),
    }


def run_benchmark(
    settings: Settings, config: BenchConfig, path: Path = RESULTS_PATH, serving_only: bool = False
) -> dict[str, Any]:
    """The whole `make bench` (or only its serving part on the last run's data); writes the JSON report."""
    target = bench_settings(settings, config)
    scale = prepare_main(config, target)
    refreshed_at = git_commit()
    if serving_only and not recs_is_refreshed(target):
        progress(f"serving only: {config.recs_db} holds no refreshed data yet; running everything")
        serving_only = False
    previous: dict[str, Any] = {}
    if serving_only and path.exists():  # keep the last full run's refresh timings, say from when
        previous = json.loads(path.read_text())
        refresh, refreshed_at = previous["refresh_s"], previous.get("refresh_commit", previous.get("commit"))
        progress(
            "serving only: the recs database, refresh timings and cost curve of the last full run are kept"
        )
        migrate(target, schedule=False)  # today's SQL functions on yesterday's data
    else:
        fresh_recs(config, target)
        refresh = time_refreshes(config, target)
    samples, sql_ms = serving_sql(target)
    http, rss = http_load(config, target, samples)
    instances = instances_step(config, target, samples)
    recording = recording_step(config, target, samples)
    curve: dict[str, Any]
    if previous:
        curve = {key: previous[key] for key in ("scale_series", "growth_per_doubling") if key in previous}
    else:
        curve = curve_report(cost_curve(settings, config, curve_point(1.0, scale, refresh, sql_ms)))
    report = build_report(
        scale=scale, refresh=refresh, refresh_commit=refreshed_at, sql_ms=sql_ms, http=http, rss=rss,
        curve=curve, workers=config.workers,
    )  # fmt: skip
    report["instances"] = instances
    report["recording"] = recording
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return report
