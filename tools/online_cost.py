"""Online measurement's database cost at volume (2M served presents, 20,000 events); rolled back."""

from __future__ import annotations

import statistics
import sys
import time

import psycopg

USER = "00000000-0000-0000-0000-0000000c0571"


def _median_ms(conn: psycopg.Connection, sql: str, runs: int = 5) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        conn.execute(sql).fetchall()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def measure(conn: psycopg.Connection) -> list[str]:
    """One user's page of 20 presents served 100,000 times in a day; /stats' read (api.online_rates)
    against the report view; last-touch attribution of 20,000 events on them, then the same events
    again. Fill, time and roll back (conn must not be in autocommit); returns the lines to print."""
    lines = []
    started = time.perf_counter()
    conn.execute(
        "INSERT INTO recs.served_pages (recommendation_id, served_at, route, user_id, algorithm, presents)"
        " SELECT gen_random_uuid(), now() - interval '23 hours' + g * interval '0.8 s', 'personalized',"
        " %s, 'popular', 20 FROM generate_series(1, 100000) g",
        (USER,),
    )
    conn.execute(
        "INSERT INTO recs.served_presents (recommendation_id, position, item_id, user_id, served_at)"
        " SELECT p.recommendation_id, x, 1000000 + x, p.user_id, p.served_at"
        " FROM recs.served_pages p CROSS JOIN generate_series(1, 20) x WHERE p.user_id = %s",
        (USER,),
    )
    conn.execute(  # what api.record_served would have counted for these pages
        "INSERT INTO recs.online_hourly AS h"
        " (hour, route, algorithm, experiment, variant, pages, impressions)"
        " SELECT date_trunc('hour', served_at, 'UTC'), route, algorithm, experiment, variant, count(*),"
        " sum(presents) FROM recs.served_pages WHERE user_id = %s GROUP BY 1, 2, 3, 4, 5"
        " ON CONFLICT ON CONSTRAINT online_hourly_key DO UPDATE"
        " SET pages = h.pages + excluded.pages, impressions = h.impressions + excluded.impressions",
        (USER,),
    )
    conn.execute("ANALYZE recs.served_pages")
    conn.execute("ANALYZE recs.served_presents")
    conn.execute("ANALYZE recs.online_hourly")
    lines.append(f"setup: 100,000 pages, 2,000,000 served presents in {time.perf_counter() - started:.1f} s")
    for name in ("SELECT * FROM recs.report_online_rates", "SELECT * FROM api.online_rates()"):
        lines.append(f"{name}: median {_median_ms(conn, name):.1f} ms over 5 runs")
    conn.execute(
        "CREATE TEMP TABLE sync_events AS"
        " SELECT (g %% 5 = 0) AS is_like, g::bigint AS id, %s::uuid AS user_id, 1000001 + g %% 20 AS item_id,"
        " now() - interval '23 hours' + g * interval '4 s' AS created_at FROM generate_series(1, 20000) g",
        (USER,),
    )
    for label in ("20,000 events", "the same events read again"):
        started = time.perf_counter()
        row = conn.execute("SELECT recs.sync_attribute_served()").fetchone()
        updated = row[0] if row else None
        elapsed = time.perf_counter() - started
        lines.append(f"attribution of {label}: {updated} rows updated in {elapsed:.2f} s")
    conn.rollback()
    return lines


def main() -> None:
    """Usage: python tools/online_cost.py <recs database URL, owner or superuser>."""
    with psycopg.connect(sys.argv[1]) as conn:
        for line in measure(conn):
            print(line)


if __name__ == "__main__":
    main()
