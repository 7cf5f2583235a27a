-- pg_temp.generate_main_data: fills an empty main database with deterministic, realistically
-- skewed data (Zipf-like item popularity, heavy-tailed user activity, demographic and taste
-- segments, private presents that are liked and clicked too).
-- Arguments: counts of public and private presents, users, likes, clicks; p_anchor = the time of
--   the newest events (events spread over p_days before it, denser near it).
-- Result: one row per table with the number of rows written.
-- Errors: 'main database is not empty' (P0001) when presents already exist.
-- Caller: `python -m tools generate` (dev, tests, benchmarks); lives in pg_temp so nothing of
--   it stays in the main database. Same arguments give the same rows (one random() stream,
--   no parallel workers).
-- pg_temp.taste_rank: a popularity rank reordered inside its band of 128 neighbouring ranks by
-- a group's own permutation (group 0 = unchanged), so every group keeps the Zipf-like head and
-- tail but prefers different presents among equally popular ones.
CREATE FUNCTION pg_temp.taste_rank(p_rank bigint, p_count integer, p_group integer) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_group = 0 OR (p_rank / 128 + 1) * 128 > p_count THEN p_rank
        ELSE (p_rank / 128) * 128 + ((p_rank % 128) * (2 * ((p_group * 7919) % 64) + 1) + p_group * 37) % 128
    END;
$$;

-- pg_temp.name_uuid: an id made from a name, shaped as RFC 9562 requires (version 3, MD5 of the
-- name; variant 10): a bare md5 cast to uuid has any version and variant nibble, which a strict
-- client (zod 4's z.uuid(), in clients generated from the OpenAPI document) refuses.
CREATE FUNCTION pg_temp.name_uuid(p_name text) RETURNS uuid
LANGUAGE sql IMMUTABLE AS $$
    SELECT overlay(overlay(md5(p_name) PLACING '3' FROM 13)
                   PLACING translate(substr(md5(p_name), 17, 1), '0123456789abcdef', '89ab89ab89ab89ab') FROM 17)::uuid;
$$;

CREATE FUNCTION pg_temp.generate_main_data(
    p_public int, p_private int, p_users int, p_likes int, p_clicks int,
    p_anchor timestamptz, p_days int DEFAULT 365
) RETURNS TABLE (table_name text, rows_written bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_categories text[] := ARRAY['books', 'electronics', 'toys', 'home', 'beauty', 'sports',
                                 'food', 'fashion', 'games', 'music', 'art', 'travel'];
    v_platforms  text[] := ARRAY['amazon', 'etsy', 'ozon', 'wildberries', 'local_shop'];
    v_locales    text[] := ARRAY['en', 'ru', 'de', 'fr', 'es'];
    v_rows bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM handpicked_presents) THEN
        RAISE EXCEPTION 'main database is not empty';
    END IF;
    SET LOCAL max_parallel_workers_per_gather = 0;
    PERFORM setseed(0.42);

    -- Users: gender (4 % unknown), age skewed young, region skewed to a few big ones.
    CREATE TEMP TABLE gen_users ON COMMIT DROP AS
    SELECT i AS idx,
           pg_temp.name_uuid('user:' || i) AS id,
           CASE WHEN r1 < 0.48 THEN 'm' WHEN r1 < 0.96 THEN 'f' END AS gender,
           (p_anchor - make_interval(days => (365.25 * (14 + floor(56 * r2 ^ 1.6)))::int
                                             + floor(365 * r3)::int))::date AS birth_date,
           v_locales[1 + floor(5 * r4 ^ 1.5)::int] AS locale,
           1 + floor(20 * r5 ^ 2)::int AS geo_id,
           floor(50 * r6)::int AS taste
    FROM (SELECT i, random() r1, random() r2, random() r3, random() r4, random() r5, random() r6
          FROM generate_series(1, p_users) i) s;
    ALTER TABLE gen_users ADD segment int;
    UPDATE gen_users SET segment =
        (CASE gender WHEN 'm' THEN 0 WHEN 'f' THEN 1 ELSE 2 END) * 6
        + CASE WHEN age < 18 THEN 0 WHEN age < 25 THEN 1 WHEN age < 35 THEN 2
               WHEN age < 45 THEN 3 WHEN age < 55 THEN 4 ELSE 5 END
    FROM (SELECT idx AS a_idx, date_part('year', age(p_anchor::date, birth_date)) AS age FROM gen_users) a
    WHERE a_idx = idx;
    CREATE UNIQUE INDEX ON gen_users (idx);
    ANALYZE gen_users;

    INSERT INTO users (id, gender, birth_date, locale, geo_id, created_at)
    SELECT id, gender, birth_date, locale, geo_id, p_anchor - make_interval(days => p_days + 30)
    FROM gen_users ORDER BY idx;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    table_name := 'users'; rows_written := v_rows; RETURN NEXT;

    -- Public presents: skewed categories and platforms, log-normal prices, 30 % regional.
    INSERT INTO handpicked_presents (id, user_id, title, price, category, platform, geo_ids,
                                     available, created_at, updated_at)
    SELECT pg_temp.name_uuid('present:' || i), NULL, 'Present #' || i,
           round((exp(3.4 + 1.1 * sqrt(-2 * ln(1 - r1)) * cos(2 * pi() * r2)))::numeric, 2),
           v_categories[1 + floor(12 * r3 ^ 1.3)::int],
           v_platforms[1 + floor(5 * r4 ^ 1.5)::int],
           CASE WHEN r5 < 0.3 THEN ARRAY[1 + floor(20 * r6 ^ 2)::int, 1 + floor(20 * r7)::int] END,
           r8 >= 0.03,
           p_anchor - make_interval(days => p_days + 30) + make_interval(secs => r9 * 86400 * p_days),
           p_anchor - make_interval(days => p_days + 30) + make_interval(secs => r9 * 86400 * p_days)
    FROM (SELECT i, random() r1, random() r2, random() r3, random() r4, random() r5, random() r6,
                 random() r7, random() r8, random() r9
          FROM generate_series(1, p_public) i) s;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    table_name := 'handpicked_presents (public)'; rows_written := v_rows; RETURN NEXT;

    -- Private presents: owned by a user each; some of them are very popular.
    INSERT INTO handpicked_presents (id, user_id, title, price, category, platform, geo_ids,
                                     available, created_at, updated_at)
    SELECT pg_temp.name_uuid('private:' || i), pg_temp.name_uuid('user:' || (1 + floor(p_users * r1)::int)),
           'Private present #' || i, round((5 + 200 * r2)::numeric, 2),
           v_categories[1 + floor(12 * r3)::int], v_platforms[1 + floor(5 * r4)::int], NULL, true,
           p_anchor - make_interval(days => p_days), p_anchor - make_interval(days => p_days)
    FROM (SELECT i, random() r1, random() r2, random() r3, random() r4
          FROM generate_series(1, p_private) i) s;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    table_name := 'handpicked_presents (private)'; rows_written := v_rows; RETURN NEXT;

    -- Events: a heavy-tailed user (rank^2.5, shuffled by a prime), then the present: 12 % a
    -- private one, else a Zipf-like popularity rank (r^3), reordered within its band of similar
    -- ranks by the user's taste cluster (35 %) or demographic segment (30 %), or kept (23 %);
    -- the rank is then scattered over present ids by a prime.
    CREATE TEMP TABLE gen_events (n bigint, kind text, user_idx int, present_id uuid,
                                  created_at timestamptz) ON COMMIT DROP;
    INSERT INTO gen_events
    SELECT n, kind, u.idx,
           CASE
               WHEN p_private > 0 AND e.r_src < 0.12
                   THEN pg_temp.name_uuid('private:' || (1 + floor(p_private * e.r_rank ^ 3)::bigint))
               ELSE pg_temp.name_uuid('present:' || (1 + (pg_temp.taste_rank(floor(p_public * e.r_rank ^ 3)::bigint, p_public,
                   CASE WHEN e.r_src < 0.47 THEN 1 + u.taste WHEN e.r_src < 0.77 THEN 100 + u.segment ELSE 0 END)
                   * 7919) % p_public))
           END,
           p_anchor - make_interval(secs => 86400.0 * p_days * e.r_time ^ 1.7)
    FROM (SELECT n, kind, random() r_user, random() r_src, random() r_rank, random() r_time
          FROM (SELECT n, 'like' AS kind FROM generate_series(1, (p_likes * 1.25)::bigint) n
                UNION ALL
                SELECT n, 'click' FROM generate_series(1, p_clicks) n) k) e
    JOIN gen_users u ON u.idx = 1 + (floor(p_users * e.r_user ^ 2.5)::bigint * 1000033) % p_users;

    -- Likes: one per (user, present), the first p_likes distinct pairs in draw order.
    INSERT INTO handpicked_likes (id, user_id, handpicked_present_id, created_at)
    SELECT pg_temp.name_uuid('like:' || n), pg_temp.name_uuid('user:' || user_idx), present_id, created_at
    FROM (SELECT DISTINCT ON (user_idx, present_id) n, user_idx, present_id, created_at
          FROM gen_events WHERE kind = 'like' ORDER BY user_idx, present_id, n) d
    ORDER BY n LIMIT p_likes;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    table_name := 'handpicked_likes'; rows_written := v_rows; RETURN NEXT;

    INSERT INTO handpicked_present_clicks (id, user_id, handpicked_present_id, created_at)
    SELECT pg_temp.name_uuid('click:' || n), pg_temp.name_uuid('user:' || user_idx), present_id, created_at
    FROM gen_events WHERE kind = 'click' ORDER BY n;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    table_name := 'handpicked_present_clicks'; rows_written := v_rows; RETURN NEXT;
END;
$$;
