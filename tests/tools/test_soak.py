"""The soak's verdicts on synthetic samples: each check passes on flat numbers and fails on growth."""

from __future__ import annotations

from tools.soak import (
    JobCall,
    Outcome,
    Window,
    degraded_shares,
    percentile,
    redis_verdict,
    rss_verdict,
    runs_logged_verdict,
    sequence_verdict,
)

MB = 1024 * 1024


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(value) for value in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) is None


def test_worker_memory_is_flat_from_the_first_sample_after_warm_up() -> None:
    samples = [(0.0, {1: 30.0, 2: 30.0}), (20.0, {1: 50.0, 2: 52.0}), (180.0, {1: 69.0, 2: 60.0})]
    verdict = rss_verdict(samples, warmup_s=20, workers_expected=2)
    assert verdict["passed"]  # 30 -> 69 is start-up; from 50, 69 <= 50 x 1.2 + 10
    assert verdict["workers"]["1"] == {"first": 50.0, "last": 69.0, "max": 69.0}


def test_worker_memory_growth_or_a_replaced_worker_fails() -> None:
    growing = [(20.0, {1: 50.0, 2: 50.0}), (180.0, {1: 71.0, 2: 50.0})]
    assert not rss_verdict(growing, warmup_s=20, workers_expected=2)["passed"]
    replaced = [(20.0, {1: 50.0, 2: 50.0}), (180.0, {1: 50.0, 3: 40.0})]
    verdict = rss_verdict(replaced, warmup_s=20, workers_expected=2)
    assert not verdict["passed"] and not verdict["same_workers"]
    assert not rss_verdict([(20.0, {1: 50.0})], warmup_s=20, workers_expected=2)["passed"]


def redis_sample(at: float, used_mb: float | None) -> dict[str, object]:
    if used_mb is None:
        return {"at": at, "used_memory": None}
    return {"at": at, "used_memory": int(used_mb * MB), "maxmemory": 64 * MB, "keys": 10}


def test_redis_compares_the_last_sample_before_its_fault_with_the_end() -> None:
    fault = Window("redis", 54.0, 69.0)
    flat = [redis_sample(10, 1.5), redis_sample(50, 2.4), redis_sample(60, None), redis_sample(180, 3.5)]
    verdict = redis_verdict(flat, fault)
    assert verdict["passed"] and verdict["before_fault_mb"] == 2.4 and verdict["end_mb"] == 3.5
    grown = [redis_sample(50, 2.4), redis_sample(180, 6.0)]  # > 2.4 x 1.2 + 2
    assert not redis_verdict(grown, fault)["passed"]
    over_the_bound = [redis_sample(50, 2.4), redis_sample(100, 65.0), redis_sample(180, 2.4)]
    assert not redis_verdict(over_the_bound, fault)["passed"]
    nothing_after = [redis_sample(50, 2.4), redis_sample(180, None)]
    assert not redis_verdict(nothing_after, fault)["passed"]


def test_sequences_must_not_move_except_the_run_log_by_the_runs_logged() -> None:
    before = {"recs.items_item_id_seq": 500, "recs.users_user_key_seq": 500, "recs.job_runs_id_seq": 3}
    after = before | {"recs.job_runs_id_seq": 18}
    assert sequence_verdict(before, after, job_runs_logged=15)["passed"]
    assert not sequence_verdict(before, after, job_runs_logged=14)["passed"]
    drawn = after | {"recs.users_user_key_seq": 501}
    verdict = sequence_verdict(before, drawn, job_runs_logged=15)
    assert not verdict["passed"]
    assert verdict["changed"] == {"recs.users_user_key_seq": {"before": 500, "after": 501}}


def test_every_answered_job_call_needs_its_run_log_row() -> None:
    calls = [JobCall(1.0, "cleanup", 200, 5.0), JobCall(2.0, "cleanup", 409, 1.0), JobCall(3, "x", 500, 9.0)]
    logged = {"rows": 3, "skipped": 1, "failed": 1, "failed_sqlstates": ["08001"]}
    assert runs_logged_verdict(calls, logged)["passed"]
    assert not runs_logged_verdict(calls, logged | {"rows": 2})["passed"]
    unanswered = [*calls, JobCall(4.0, "cleanup", 0, 300_000.0)]
    assert not runs_logged_verdict(unanswered, logged)["passed"]


def test_degraded_answers_are_split_by_the_main_outage_and_the_breaker_time_after_it() -> None:
    outage = Window("main", 100.0, 115.0)
    outcomes = [
        Outcome(50.0, "POST /personalized", 200, 5.0, degraded=False),
        Outcome(101.0, "POST /personalized", 200, 5.0, degraded=True),
        Outcome(130.0, "POST /personalized", 200, 5.0, degraded=True),
        Outcome(150.0, "POST /personalized", 200, 5.0, degraded=False),
        Outcome(150.0, "POST /popular", 200, 5.0),
    ]
    shares = degraded_shares(outcomes, outage, breaker_open_s=30)
    assert shares == {
        "inside_main_outage": {"share": 1.0, "n": 1},
        "breaker_tail": {"share": 1.0, "n": 1},
        "outside": {"share": 0.0, "n": 2},
    }
