"""The main-DB generator: deterministic, the requested sizes, realistic skew, private presents used."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from tests.conftest import MAIN_DB, SUPERUSER
from tools.generate import PRESETS, generate

ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
CONTENT_HASH = """
SELECT md5(string_agg(t, '|' ORDER BY t)) FROM (
    SELECT 'p' || p::text AS t FROM handpicked_presents p
    UNION ALL SELECT 'l' || l::text FROM handpicked_likes l
    UNION ALL SELECT 'c' || c::text FROM handpicked_present_clicks c
    UNION ALL SELECT 'u' || u::text FROM users u
) rows
"""


def test_generator_is_deterministic_and_skewed(databases: tuple[psycopg.Connection, ...]) -> None:
    main, _ = databases
    size = PRESETS["tiny"]
    written = generate(SUPERUSER.with_dbname(MAIN_DB), size, anchor=ANCHOR)
    assert written == {
        "users": size.users,
        "handpicked_presents (public)": size.public,
        "handpicked_presents (private)": size.private,
        "handpicked_likes": size.likes,
        "handpicked_present_clicks": size.clicks,
    }
    first = main.execute(CONTENT_HASH).fetchone()

    with psycopg.connect(SUPERUSER.with_dbname("postgres"), autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS test_main_again")
        admin.execute(f"CREATE DATABASE test_main_again TEMPLATE {MAIN_DB}_tmpl")
    try:
        generate(SUPERUSER.with_dbname("test_main_again"), size, anchor=ANCHOR)
        with psycopg.connect(SUPERUSER.with_dbname("test_main_again")) as again:
            assert again.execute(CONTENT_HASH).fetchone() == first
    finally:
        with psycopg.connect(SUPERUSER.with_dbname("postgres"), autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS test_main_again")

    # Every id is an RFC 9562 uuid (version 3, variant 10), as strict clients check: zod 4's z.uuid(),
    # which clients generated from the OpenAPI document use, refused most ids of a bare md5.
    row = main.execute(
        """
        SELECT count(*), count(*) FILTER (
            WHERE id::text !~ '^[0-9a-f]{8}-[0-9a-f]{4}-3[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')
        FROM (SELECT id FROM users
              UNION ALL SELECT id FROM handpicked_presents
              UNION ALL SELECT user_id FROM handpicked_presents WHERE user_id IS NOT NULL
              UNION ALL SELECT unnest(ARRAY[id, user_id, handpicked_present_id]) FROM handpicked_likes
              UNION ALL SELECT unnest(ARRAY[id, user_id, handpicked_present_id])
                        FROM handpicked_present_clicks
        ) ids (id)
        """
    ).fetchone()
    assert row is not None and row[0] > 0 and row[1] == 0, row
    # Zipf-like items: the top 1 % of liked public presents hold far more than 1 % of the likes.
    row = main.execute(
        """
        WITH counts AS (
            SELECT count(*) AS likes FROM handpicked_likes l
            JOIN handpicked_presents p ON p.id = l.handpicked_present_id AND p.user_id IS NULL
            GROUP BY l.handpicked_present_id)
        SELECT sum(likes) FILTER (WHERE rank <= greatest(1, total / 100))::float / sum(likes)
        FROM (SELECT likes, row_number() OVER (ORDER BY likes DESC) AS rank, count(*) OVER () AS total
              FROM counts) ranked
        """
    ).fetchone()
    assert row is not None and row[0] > 0.05
    # Heavy-tailed users: the most active user has many times the median activity.
    row = main.execute(
        """
        SELECT max(n)::float / percentile_cont(0.5) WITHIN GROUP (ORDER BY n)
        FROM (SELECT count(*) AS n FROM handpicked_present_clicks GROUP BY user_id) per_user
        """
    ).fetchone()
    assert row is not None and row[0] > 10
    # Private presents are liked and clicked too (the service must still never return them).
    row = main.execute(
        """
        SELECT count(*) FILTER (WHERE p.user_id IS NOT NULL), count(DISTINCT u.gender)
        FROM handpicked_likes l JOIN handpicked_presents p ON p.id = l.handpicked_present_id
        JOIN users u ON u.id = l.user_id
        """
    ).fetchone()
    assert row is not None and row[0] > 0 and row[1] == 2


PER_USER_AND_PRESENT = """
WITH events AS (
    SELECT user_id, handpicked_present_id FROM handpicked_likes
    UNION ALL SELECT user_id, handpicked_present_id FROM handpicked_present_clicks),
per_user AS (SELECT count(*) AS n FROM events GROUP BY user_id),
per_present AS (
    SELECT count(*) AS n FROM events e
    JOIN handpicked_presents p ON p.id = e.handpicked_present_id AND p.user_id IS NULL
    GROUP BY e.handpicked_present_id)
SELECT (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY n) FROM per_user),
       (SELECT percentile_disc(0.9) WITHIN GROUP (ORDER BY n) FROM per_user),
       (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY n) FROM per_present)
"""


def test_a_scaled_size_keeps_per_user_activity_and_the_catalogue_shape(
    databases: tuple[psycopg.Connection, ...],
) -> None:
    # The benchmark's cost curve compares scales: only the amount of data may differ between them.
    # (The head of the catalogue keeps its shape only where the taste bands of 128 ranks are a small
    # share of it: at the curve's 25k+ public presents, not at these 1,250 and 2,500.)
    main, _ = databases
    generate(SUPERUSER.with_dbname(MAIN_DB), PRESETS["demo"].scaled(0.5), anchor=ANCHOR)
    double = main.execute(PER_USER_AND_PRESENT).fetchone()
    with psycopg.connect(SUPERUSER.with_dbname("postgres"), autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS test_main_half")
        admin.execute(f"CREATE DATABASE test_main_half TEMPLATE {MAIN_DB}_tmpl")
    try:
        generate(SUPERUSER.with_dbname("test_main_half"), PRESETS["demo"].scaled(0.25), anchor=ANCHOR)
        with psycopg.connect(SUPERUSER.with_dbname("test_main_half")) as half:
            single = half.execute(PER_USER_AND_PRESENT).fetchone()
    finally:
        with psycopg.connect(SUPERUSER.with_dbname("postgres"), autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS test_main_half")
    assert double is not None and single is not None
    for at_double, at_half in zip(double, single, strict=True):
        assert abs(at_double - at_half) <= max(2, 0.15 * at_half), (double, single)
