"""The benchmark's arithmetic: wrk output parsing, latency percentiles, the cost curve and the report."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests.conftest import SUPERUSER_URL, make_settings
from tools import bench
from tools.__main__ import _factors
from tools.bench import (
    BenchConfig,
    build_report,
    curve_point,
    curve_report,
    format_cost_curve,
    format_report,
    growth_per_doubling,
    measure_scale,
    parse_wrk,
    percentiles,
    scaled_name,
)
from tools.generate import PRESETS, DataSize

WRK_OUTPUT = """Running 8s test @ http://127.0.0.1:8100
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.91ms  850.11us  21.30ms   89.02%
    Req/Sec     4.27k   312.50     4.90k    70.00%
  Latency Distribution
     50%  740.00us
     75%    2.03ms
     90%    2.61ms
     99%    1.20s
  68012 requests in 8.00s, 14.21MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   8499.31
Transfer/sec:      1.78MB
"""


def test_wrk_output_is_parsed_into_rps_latencies_and_errors() -> None:
    assert parse_wrk(WRK_OUTPUT) == {"rps": 8499.3, "p50_ms": 0.74, "p99_ms": 1200.0, "errors": 7}


def test_the_p95_the_script_prints_when_done_is_parsed_too() -> None:
    measured = parse_wrk(WRK_OUTPUT + "p95_us 2612\n")
    assert measured == {"rps": 8499.3, "p50_ms": 0.74, "p95_ms": 2.612, "p99_ms": 1200.0, "errors": 7}


def test_wrk_output_without_a_latency_distribution_is_an_error() -> None:
    with pytest.raises(ValueError, match="50% latency"):
        parse_wrk("Requests/sec:   10.0\n")


def test_percentiles_interpolate_between_samples() -> None:
    # 1..101 ms: the inclusive method puts the k-th percentile at exactly 1 + k ms.
    assert percentiles([float(value) for value in range(1, 102)]) == {"p50": 51.0, "p95": 96.0, "p99": 100.0}


# --- the cost curve ---------------------------------------------------------------------------------

SQL_MS = {
    "popular_exact": {"p50": 0.5, "p95": 1.0, "p99": 1.5},
    "personalized_collaborative": {"p50": 2.0, "p95": 4.0, "p99": 6.0},
}


def refresh_s(seconds: float) -> dict[str, Any]:
    """time_refreshes' result shape: every job taking seconds from empty and a tenth of it after events."""
    return {
        "popular": seconds,
        "profiles": seconds,
        "similarities_full": seconds,
        "item_neighbors": seconds,
        "learned_weights": seconds,
        "all": 5 * seconds,
        "similarities_incremental": seconds / 10,
        "incremental": {
            "popular": seconds / 10,
            "profiles": seconds / 10,
            "similarities": seconds / 10,
            "item_neighbors": seconds / 10,
            "learned_weights": seconds / 10,
        },
        "steps": {"from_empty": {}, "incremental": {}},
        "similarity_caps": {"degree_cap": 250, "item_history_cap": 10},
    }


def point(factor: float, seconds: float, sql_ms: dict[str, Any] = SQL_MS) -> dict[str, Any]:
    sizes = {
        "public_presents": int(100_000 * factor),
        "users": int(300_000 * factor),
        "likes": 1,
        "clicks": 1,
    }
    return curve_point(factor, sizes, refresh_s(seconds), sql_ms)


def test_a_curve_point_takes_every_refresh_time_and_the_p95_of_every_query() -> None:
    assert point(0.5, 10.0) == {
        "factor": 0.5,
        "sizes": {"public_presents": 50_000, "users": 150_000, "likes": 1, "clicks": 1},
        "refresh_s": {
            "popular": 10.0,
            "profiles": 10.0,
            "similarities": 10.0,
            "item_neighbors": 10.0,
            "learned_weights": 10.0,
            "all": 50.0,
        },
        "incremental_s": {
            "popular": 1.0,
            "profiles": 1.0,
            "similarities": 1.0,
            "item_neighbors": 1.0,
            "learned_weights": 1.0,
        },
        "sql_p95_ms": {"popular_exact": 1.0, "personalized_collaborative": 4.0},
        "similarity_caps": {"degree_cap": 250, "item_history_cap": 10},
    }


def test_growth_is_the_ratio_per_doubling_between_neighbouring_points() -> None:
    # Linear from 0.25 to 0.5 (2.0), then four times the time for one doubling (quadratic).
    growth = growth_per_doubling([point(1, 40.0), point(0.25, 5.0), point(0.5, 10.0)])
    assert list(growth) == ["0.25->0.5", "0.5->1"]
    assert growth["0.25->0.5"]["refresh_s"] == {
        "popular": 2.0,
        "profiles": 2.0,
        "similarities": 2.0,
        "item_neighbors": 2.0,
        "learned_weights": 2.0,
        "all": 2.0,
    }
    assert growth["0.5->1"]["incremental_s"] == {
        "popular": 4.0,
        "profiles": 4.0,
        "similarities": 4.0,
        "item_neighbors": 4.0,
        "learned_weights": 4.0,
    }
    assert growth["0.5->1"]["sql_p95_ms"] == {"popular_exact": 1.0, "personalized_collaborative": 1.0}


def test_growth_over_a_step_of_several_doublings_is_per_doubling() -> None:
    # 0.25 -> 1 is two doublings: 16 times the time is 4 per doubling; 0.5 -> 2 (one doubling) 2.
    growth = growth_per_doubling([point(0.25, 1.0), point(1, 16.0), point(2, 32.0)])
    assert growth["0.25->1"]["refresh_s"]["popular"] == 4.0
    assert growth["1->2"]["refresh_s"]["popular"] == 2.0


def test_growth_is_none_where_a_measure_is_missing_or_zero() -> None:
    small = point(0.25, 0.0, {"popular_exact": SQL_MS["popular_exact"]})
    growth = growth_per_doubling([small, point(0.5, 10.0)])["0.25->0.5"]
    assert growth["refresh_s"]["popular"] is None
    assert growth["sql_p95_ms"] == {"popular_exact": 1.0, "personalized_collaborative": None}
    assert growth_per_doubling([point(1, 1.0)]) == {}


def test_the_curve_report_keys_points_by_factor_smallest_first() -> None:
    report = curve_report([point(1, 4.0), point(0.25, 1.0), point(0.5, 2.0)])
    assert list(report) == ["scale_series", "growth_per_doubling"]
    assert list(report["scale_series"]) == ["0.25", "0.5", "1"]
    assert report["scale_series"]["0.5"]["refresh_s"]["popular"] == 2.0
    assert list(report["growth_per_doubling"]) == ["0.25->0.5", "0.5->1"]


def test_the_cost_curve_table_has_a_row_per_measure_and_a_column_per_scale_and_step() -> None:
    points = [point(0.5, 10.0), point(1, 40.0)]
    lines = format_cost_curve(points, growth_per_doubling(points)).splitlines()
    assert lines[1].split() == ["x0.5", "x1", "0.5->1"]
    rows = {cells[0]: cells[1:] for cells in (re.split(r"\s{2,}", line.strip()) for line in lines[2:])}
    assert rows["users"] == ["150,000", "300,000"]
    assert rows["similarity degree_cap"] == ["250", "250"]
    assert rows["from empty (s) all"] == ["50.0", "200.0", "4.0"]
    assert rows["after 20k events (s) similarities"] == ["1.0", "4.0", "4.0"]
    assert rows["sql p95 (ms) personalized_collaborative"] == ["4.0", "4.0", "1.0"]
    assert format_cost_curve([], {}) == "cost curve: not measured"


def report() -> dict[str, Any]:
    wrk_cell = {"c1": {"rps": 100.0, "p50_ms": 1.0, "p99_ms": 2.0, "errors": 0}}
    for c in ("c16", "c64"):
        wrk_cell[c] = wrk_cell["c1"]
    http = {name: dict(wrk_cell) for name in ("baseline", "popular_hit", "personalized_hit")}
    http["baseline"] = {c: {**cell, "rps": 400.0} for c, cell in wrk_cell.items()}
    return build_report(
        scale={"users": 300_000}, refresh=refresh_s(10.0), refresh_commit="abc", sql_ms=SQL_MS, http=http,
        rss=[50.0, 55.5], curve=curve_report([point(0.5, 5.0), point(1, 10.0)]), workers=2,
    )  # fmt: skip


def test_the_report_keeps_its_keys_and_adds_the_cost_curve() -> None:
    built = report()
    assert {
        "scale", "refresh_s", "sql_ms", "http", "ratio_hit_to_baseline_c16", "rss_mb_per_worker",
        "scale_series", "growth_per_doubling", "commit", "machine", "seconds",
    } <= set(built)  # fmt: skip
    for key in (
        "popular",
        "profiles",
        "similarities_full",
        "item_neighbors",
        "learned_weights",
        "all",
        "similarities_incremental",
    ):
        assert isinstance(built["refresh_s"][key], float)
    assert built["refresh_s"]["incremental"] == {
        "popular": 1.0,
        "profiles": 1.0,
        "similarities": 1.0,
        "item_neighbors": 1.0,
        "learned_weights": 1.0,
    }
    assert built["ratio_hit_to_baseline_c16"] == 0.25
    assert built["rss_mb_per_worker"] == 55.5
    assert built["growth_per_doubling"]["0.5->1"]["refresh_s"]["all"] == 2.0
    text = format_report(built)
    assert (
        "refresh (s): popular 10.0, profiles 10.0, similarities_full 10.0, item_neighbors 10.0,"
        " learned_weights 10.0, all 50.0" in text
    )
    assert "cost curve (a->b: growth per doubling" in text
    load = built["machine"]["load_average_at_start"]
    assert len(load) == 3 and all(value >= 0 for value in load)
    assert "load_average_at_start" in text


def test_a_report_without_a_cost_curve_is_still_formatted() -> None:
    built = report()
    del built["scale_series"], built["growth_per_doubling"]
    assert "cost curve" not in format_report(built)


def test_a_scaled_benchmark_has_databases_of_its_own_and_proportional_sizes() -> None:
    config = BenchConfig(superuser_url="postgresql://unused")
    assert config.at_scale(1) is config
    quarter = config.at_scale(0.25)
    assert (quarter.main_db, quarter.recs_db) == ("mysanta_bench_main_x0_25", "mysanta_bench_recs_x0_25")
    assert quarter.size == DataSize(
        public=25_000, private=100_000, users=75_000, likes=500_000, clicks=750_000
    )
    assert scaled_name("mysanta_bench_main", 2) == "mysanta_bench_main_x2"
    # Per-user activity and events per present stay those of the full scale.
    target = PRESETS["target"]
    for size in (quarter.size, config.at_scale(2).size, target.scaled(0.02)):
        assert (size.likes + size.clicks) / size.users == (target.likes + target.clicks) / target.users
        assert (size.likes + size.clicks) / size.public == (target.likes + target.clicks) / target.public
    assert PRESETS["tiny"].scaled(0.0001) == DataSize(public=1, private=1, users=1, likes=1, clicks=1)


def test_the_series_option_takes_distinct_positive_factors() -> None:
    assert _factors("0.25,0.5,1") == (0.25, 0.5, 1.0)
    assert _factors("1, 2") == (1.0, 2.0)
    for bad in ("", "0.5,0.5", "0,1", "a,1"):
        with pytest.raises(argparse.ArgumentTypeError):
            _factors(bad)


SMOKE_CONFIG = BenchConfig(
    superuser_url=SUPERUSER_URL, main_db="test_bench_main", recs_db="test_bench_recs", size=PRESETS["tiny"]
)


@pytest.fixture
def smoke_databases() -> Iterator[BenchConfig]:
    """The half-scale databases measure_scale creates from SMOKE_CONFIG; dropped afterwards."""
    half = SMOKE_CONFIG.at_scale(0.5)
    yield SMOKE_CONFIG
    with psycopg.connect(SUPERUSER_URL, autocommit=True) as conn:
        for dbname in (half.recs_db, half.main_db):
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))


def test_one_point_of_the_curve_runs_the_refresh_and_sql_steps_on_its_own_databases(
    smoke_databases: BenchConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bounded run: half the tiny preset, few new events and few calls per query.
    monkeypatch.setattr(bench, "NEW_EVENTS", 200)
    monkeypatch.setattr(bench, "SQL_REQUESTS", 20)
    monkeypatch.setattr(bench, "SQL_WARMUP", 2)
    measured = measure_scale(make_settings(), smoke_databases, 0.5)
    tiny = PRESETS["tiny"]
    assert measured["factor"] == 0.5
    assert measured["sizes"] == {
        "public_presents": tiny.public // 2, "private_presents": tiny.private // 2, "users": tiny.users // 2,
        "likes": tiny.likes // 2, "clicks": tiny.clicks // 2,
    }  # fmt: skip
    jobs = {"popular", "profiles", "similarities", "item_neighbors", "learned_weights"}
    assert set(measured["refresh_s"]) == jobs | {"all"}
    assert set(measured["incremental_s"]) == jobs
    assert {"popular_exact", "popular_filtered", "popular_global", "popular"} <= set(measured["sql_p95_ms"])
    assert all(value > 0 for value in measured["sql_p95_ms"].values())
    caps = measured["similarity_caps"]
    assert isinstance(caps["degree_cap"], int) and isinstance(caps["item_history_cap"], int)
    half = smoke_databases.at_scale(0.5)
    with psycopg.connect(SUPERUSER_URL, autocommit=True) as conn:
        names = {row[0] for row in conn.execute("SELECT datname FROM pg_database").fetchall()}
    assert {half.main_db, half.recs_db} <= names
    assert not {smoke_databases.main_db, smoke_databases.recs_db} & names


def _recording_run(share: float, rps: float, service_us: float, postgres_us: float) -> dict[str, Any]:
    cpu = {"service": service_us, "postgres": postgres_us, "redis": 4.0, "client": 20.0}
    return {"share": share, "rps": rps, "p99_ms": 5.0, "cpu_us_per_request": cpu}


def test_the_recording_summary_compares_medians_and_states_the_off_runs_own_spread() -> None:
    from tools.bench_recording import format_recording, summary

    runs = [
        _recording_run(0, 10_000, 70, 2), _recording_run(0.1, 9_500, 72, 5),
        _recording_run(0, 11_000, 68, 2), _recording_run(0.1, 9_900, 71, 6),
        _recording_run(0, 10_500, 69, 3), _recording_run(0.1, 10_200, 73, 5),
    ]  # fmt: skip
    result = summary(runs)
    assert result["share"] == 0.1
    assert result["rps_ratio"] == round(9_900 / 10_500, 3)  # median over median
    assert result["rps_spread_off"] == round(11_000 / 10_000 - 1, 3)
    assert result["server_cpu_us_off"] == 76.0  # 70 + 2 + 4 (the client's CPU is not the server's)
    assert result["server_cpu_us_on"] == 81.0
    assert result["server_cpu_ratio"] == round(81 / 76, 3)
    text = format_recording({"c": 16, "seconds": 6, "runs": runs, "summary": result})
    assert "rps x0.943" in text and "spread 10.0%" in text


def test_a_recording_summary_needs_runs_of_both_kinds() -> None:
    from tools.bench_recording import summary

    assert summary([_recording_run(0, 10_000, 70, 2)]) == {}


def test_the_cpu_of_a_process_tree_counts_its_busy_descendants() -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from tools.processes import process_tree_cpu_s

    spin = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"
    spin += "time.sleep(30)"
    # The spinning process is the shell's child: the shell itself stays idle.
    shell = subprocess.Popen(["/bin/sh", "-c", f"{sys.executable} -c '{spin}'; true"], start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while process_tree_cpu_s(shell.pid) < 0.4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert 0.4 <= process_tree_cpu_s(shell.pid) < 5
    finally:
        os.killpg(shell.pid, signal.SIGKILL)
        shell.wait()
    assert process_tree_cpu_s(shell.pid) == 0.0  # gone: nothing to count
