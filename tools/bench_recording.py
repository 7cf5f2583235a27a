"""make bench's recording step: what recording served pages costs the serving path, from interleaved
runs of personalised cache hits of a hundred users (the share of them in the recording sample that
the setting says) with online_record_share 0 and at its configured value, measured both as requests
per second and as CPU time per request of the service, PostgreSQL and Redis."""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import redis

from service.online import recording_point
from tools.processes import process_tree_cpu_s, running_process

CONNECTIONS = 16
SECONDS = 6  # each run
PAIRS = 3  # off, on, off, on, off, on: the machine's drift falls on both sides alike
WARM_SECONDS = 2
USERS = 100  # whose cached pages the load asks for, in turn
SETTLE_S = 1.5  # after a run: the recorder's last flush (every second) lands before CPU is read again
Wrk = Callable[[str, str, str, Path | None, int, int, Path], dict[str, float]]


def _postmaster(superuser_url: str) -> int:
    """The PostgreSQL server's postmaster's process id, from the first line of its postmaster.pid."""
    with psycopg.connect(superuser_url) as conn:
        row = conn.execute("SELECT current_setting('data_directory')").fetchone()
    data_directory = Path(str(row[0])) if row else Path()
    return int((data_directory / "postmaster.pid").read_text().split()[0])


def _redis_server(redis_url: str) -> int:
    """The Redis server's process id, as it reports it."""
    client = redis.Redis.from_url(redis_url)
    try:
        return int(client.info("server")["process_id"])
    finally:
        client.close()


def _client_cpu_s() -> float:
    """CPU seconds of this process's waited-for children: the wrk runs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _set_share(owner_url: str, share: str) -> None:
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute("SELECT recs.set_setting('online_record_share', %s)", (share,))


def configured_share(owner_url: str) -> str:
    """online_record_share as stored."""
    with psycopg.connect(owner_url) as conn:
        row = conn.execute("SELECT value FROM recs.settings WHERE key = 'online_record_share'").fetchone()
    return str(row[0]) if row else "0"


def recording_users(candidates: list[str], share: float, count: int = USERS) -> list[str]:
    """count users of the candidates, round(share x count) of them in the recording sample
    (service.online.recording_point below the share) and the others outside it: a load spread evenly
    over them records the share of its pages, as the setting does over many users (one user, or a
    few, would be all in the sample or all out). Fewer when the candidates lack either kind."""
    inside = [user for user in candidates if recording_point(user) < share]
    outside = [user for user in candidates if recording_point(user) >= share]
    wanted = round(share * count)
    return inside[:wanted] + outside[: count - wanted]


def recording_load(
    env: dict[str, str], port: int, superuser_url: str, owner_url: str, redis_url: str, bodies: Path,
    scratch: Path, wrk: Wrk, reread_s: float, configured: str,
) -> dict[str, Any]:  # fmt: skip
    """PAIRS pairs of wrk runs (CONNECTIONS, SECONDS each) of /personalized cache hits of the bodies
    (recording_users' pages) against one server (two workers): online_record_share 0, then
    `configured`, its stored value (restored at the end, whatever happens). reread_s: how long a
    worker may keep the recorder's configuration (DATA_VERSION_MAX_AGE_MS); each switch waits for
    it. wrk: tools.bench.wrk."""
    command = [sys.executable, "-m", "service", "serve", "--port", str(port), "--workers", "2"]
    url = f"http://127.0.0.1:{port}"
    runs: list[dict[str, Any]] = []
    try:
        with running_process(command, env, f"{url}/health", scratch / "serve-recording.log") as server:
            service, postgres = server.pid, _postmaster(superuser_url)
            cache = _redis_server(redis_url)
            for value in ["0", configured] * PAIRS:
                _set_share(owner_url, value)
                time.sleep(reread_s + 0.5)
                # Warm: the worker rereads the share, and every user's page is cached again (a change
                # of recs.settings moves the data versions the cache keys carry).
                wrk(url, "/personalized", "POST", bodies, 4, WARM_SECONDS, scratch)
                time.sleep(SETTLE_S)
                before = (*map(process_tree_cpu_s, (service, postgres, cache)), _client_cpu_s())
                measured = wrk(url, "/personalized", "POST", bodies, CONNECTIONS, SECONDS, scratch)
                time.sleep(SETTLE_S)
                after = (*map(process_tree_cpu_s, (service, postgres, cache)), _client_cpu_s())
                requests = max(measured["rps"] * SECONDS, 1.0)
                names = ("service", "postgres", "redis", "client")
                cpu_us = {
                    name: round((end - start) / requests * 1e6, 1)
                    for name, start, end in zip(names, before, after, strict=True)
                }
                runs.append({"share": float(value), **measured, "cpu_us_per_request": cpu_us})
    finally:
        _set_share(owner_url, configured)
    return {"c": CONNECTIONS, "seconds": SECONDS, "runs": runs, "summary": summary(runs)}


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Recording on over off: the median rps ratio, the off runs' own spread (the noise to compare it
    with) and the ratio of the median server-side CPU per request (service + PostgreSQL + Redis)."""
    off = [run for run in runs if run["share"] == 0]
    on = [run for run in runs if run["share"] != 0]
    if not off or not on:
        return {}

    def server_cpu(run: dict[str, Any]) -> float:
        cpu = run["cpu_us_per_request"]
        return float(cpu["service"] + cpu["postgres"] + cpu["redis"])

    off_rps = [run["rps"] for run in off]
    cpu_off = statistics.median(server_cpu(run) for run in off)
    cpu_on = statistics.median(server_cpu(run) for run in on)
    return {
        "share": on[0]["share"],
        "rps_ratio": round(statistics.median(run["rps"] for run in on) / statistics.median(off_rps), 3),
        "rps_spread_off": round(max(off_rps) / min(off_rps) - 1, 3),
        "server_cpu_us_off": round(cpu_off, 1),
        "server_cpu_us_on": round(cpu_on, 1),
        "server_cpu_ratio": round(cpu_on / cpu_off, 3),
    }


def format_recording(recording: dict[str, Any]) -> str:
    """The recording step in two lines: the runs, then the ratios."""
    runs = ", ".join(
        f"{run['share']:g}: {run['rps']:,.0f} rps p99 {run['p99_ms']} ms" for run in recording["runs"]
    )  # fmt: skip
    s = recording["summary"]
    return (
        f"recording (/personalized hits c{recording['c']}, {recording['seconds']} s runs): {runs}\n"
        f"recording share {s['share']:g} over 0: rps x{s['rps_ratio']} (off runs' own spread"
        f" {s['rps_spread_off']:.1%}), server CPU per request"
        f" {s['server_cpu_us_off']} -> {s['server_cpu_us_on']} us (x{s['server_cpu_ratio']})"
    )
