"""The benchmark's arithmetic: wrk output parsing and latency percentiles."""

from __future__ import annotations

import pytest

from tools.bench import parse_wrk, percentiles

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


def test_wrk_output_without_a_latency_distribution_is_an_error() -> None:
    with pytest.raises(ValueError, match="50% latency"):
        parse_wrk("Requests/sec:   10.0\n")


def test_percentiles_interpolate_between_samples() -> None:
    # 1..101 ms: the inclusive method puts the k-th percentile at exactly 1 + k ms.
    assert percentiles([float(value) for value in range(1, 102)]) == {"p50": 51.0, "p95": 96.0, "p99": 100.0}
