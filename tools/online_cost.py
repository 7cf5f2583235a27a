"""Online measurement's database cost: recording batches, 100,000 pages, 20,000 events; rolled back."""

from __future__ import annotations

import statistics
import sys
import time
import uuid

import psycopg

USER = "00000000-0000-0000-0000-0000000c0571"
BATCH_PAGES, PAGE_PRESENTS = 500, 20


def _median_ms(conn: psycopg.Connection, sql: str, runs: int = 5) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        conn.execute(sql).fetchall()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def _record_batches(conn: psycopg.Connection, runs: int = 7) -> str:
    """api.record_served of batches of 500 pages of 20 presents (100 users), the arguments sent as
    the app's recorder sends them (service.online.RECORD_QUERY: ids as comma-separated text): the
    median database time of a call, per page."""
    users = [uuid.uuid4() for _ in range(100)]
    timings = []
    for _ in range(runs):
        now = time.time()
        ids = ",".join(str(uuid.uuid4()) for _ in range(BATCH_PAGES))
        items = ",".join(str(uuid.uuid4()) for _ in range(BATCH_PAGES * PAGE_PRESENTS))
        arguments = (
            ids, [now + page / 1000 for page in range(BATCH_PAGES)],
            ["personalized"] * BATCH_PAGES, [users[page % 100] for page in range(BATCH_PAGES)],
            ["collaborative"] * BATCH_PAGES, [None] * BATCH_PAGES, [None] * BATCH_PAGES,
            [PAGE_PRESENTS] * BATCH_PAGES, items,
        )  # fmt: skip
        row = conn.execute(  # the database's time: from the Execute message to the function's end
            "SELECT date_part('epoch', clock_timestamp() - statement_timestamp())"
            " FROM api.record_served(string_to_array(%s, ',')::uuid[], %b::float8[], %b::text[], %b::uuid[],"
            " %b::text[], %b::text[], %b::text[], %b::integer[], string_to_array(%s, ',')::uuid[])",
            arguments,
        ).fetchone()
        timings.append(row[0] if row else float("nan"))
    median = statistics.median(timings)
    return (
        f"api.record_served of {BATCH_PAGES} pages of {PAGE_PRESENTS} presents: median {median * 1000:.1f} ms"
        f" over {runs} batches, {median / BATCH_PAGES * 1e6:.0f} us per page"
    )


def _attribute(conn: psycopg.Connection, label: str, item_offset: int) -> str:
    """The sync's attribution step on 20,000 events of USER on presents item_offset + 1..20."""
    conn.execute("DROP TABLE IF EXISTS sync_events")
    conn.execute(
        "CREATE TEMP TABLE sync_events AS"
        " SELECT (g %% 5 = 0) AS is_like, g::bigint AS id, %s::uuid AS user_id, i.item_id,"
        " now() - interval '23 hours' + g * interval '4 s' AS created_at"
        " FROM generate_series(1, 20000) g JOIN online_cost_items i ON i.n = %s + 1 + g %% 20",
        (USER, item_offset),
    )
    started = time.perf_counter()
    row = conn.execute("SELECT recs.sync_attribute_served()").fetchone()
    elapsed = time.perf_counter() - started
    return f"attribution of {label}: {row[0] if row else None} impressions credited in {elapsed:.2f} s"


def measure(conn: psycopg.Connection) -> list[str]:
    """Recording batches; then one user's page of 20 presents served 100,000 times in a day: /stats'
    read (api.online_rates) against the report view, last-touch attribution of 20,000 events on
    them, the same events again, and 20,000 events on presents none of those pages shows (each
    walks online_attribution_pages of the user's pages). Fill, time and roll back (conn must not be
    in autocommit); returns the lines to print."""
    lines = [_record_batches(conn)]
    started = time.perf_counter()
    conn.execute(
        "CREATE TEMP TABLE online_cost_items ON COMMIT DROP AS SELECT g AS n, gen_random_uuid() AS present_id"
        " FROM generate_series(1, 40) g"
    )
    conn.execute(
        "INSERT INTO recs.items (present_id, available, created_at, updated_at)"
        " SELECT present_id, true, now(), now() FROM online_cost_items"
    )
    conn.execute(
        "ALTER TABLE online_cost_items ADD COLUMN item_id integer; UPDATE online_cost_items c"
        " SET item_id = i.item_id FROM recs.items i WHERE i.present_id = c.present_id"
    )
    conn.execute(
        "INSERT INTO recs.served_pages"
        " (recommendation_id, served_at, route, user_id, algorithm, presents, items)"
        " SELECT gen_random_uuid(), now() - interval '23 hours' + g * interval '0.8 s', 'personalized',"
        " %s, 'popular', 20, (SELECT array_agg(present_id ORDER BY n) FROM online_cost_items WHERE n <= 20)"
        " FROM generate_series(1, 100000) g",
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
    conn.execute("ANALYZE recs.online_hourly")
    lines.append(f"setup: 100,000 pages of 20 presents of one user in {time.perf_counter() - started:.1f} s")
    for name in ("SELECT * FROM recs.report_online_rates", "SELECT * FROM api.online_rates()"):
        lines.append(f"{name}: median {_median_ms(conn, name):.1f} ms over 5 runs")
    lines.append(_attribute(conn, "20,000 events on the served presents", 0))
    lines.append(_attribute(conn, "the same events read again", 0))
    pages = conn.execute("SELECT recs.setting('online_attribution_pages')").fetchone()
    lines.append(
        _attribute(conn, f"20,000 events on presents never served (<= {pages and pages[0]} pages each)", 20)
    )
    conn.rollback()
    return lines


def main() -> None:
    """Usage: python tools/online_cost.py <recs database URL, owner or superuser>."""
    with psycopg.connect(sys.argv[1]) as conn:
        for line in measure(conn):
            print(line)


if __name__ == "__main__":
    main()
