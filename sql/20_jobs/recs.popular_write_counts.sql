-- recs.popular_write_counts: the popularity job's counts, recounted from its helper tables
-- and written where they differ: recs.popular_segments (distinct users per segment, from the
-- segments of recs.popular_user_segments: one row per user with interactions) and, when
-- p_presents, the pre-counted totals recs.popular_filter_counts, recs.popular_region_counts and
-- recs.popular_price_counts (the view recs.popular_price_count_rows; all from
-- recs.popular_prior_items: the available presents; presents
-- without a category counted under '', as recs.matches_filters takes it), with the region rule of
-- recs.matches_filters (each listed region once; no list: -1, delivers everywhere; an empty list
-- delivers nowhere).
-- Arguments: p_presents, whether the presents changed (else their totals are left as they are).
-- Result: rows written. Errors: none. Caller: recs.popular_rebuild, recs.popular_apply_changes.
CREATE OR REPLACE FUNCTION recs.popular_write_counts(p_presents boolean) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_rows bigint;
    v_written bigint := 0;
BEGIN
    CREATE TEMP TABLE popular_counted ON COMMIT DROP AS
    SELECT CASE WHEN GROUPING(s.gender) = 1 THEN '*' ELSE s.gender END AS gender,
           CASE WHEN GROUPING(s.age_group) = 1 THEN '*' ELSE s.age_group END AS age_group,
           count(*)::integer AS users
    FROM recs.popular_user_segments s
    GROUP BY GROUPING SETS ((s.gender, s.age_group), (s.gender), (s.age_group), ())
    HAVING (GROUPING(s.gender) = 1 OR s.gender IS NOT NULL) AND (GROUPING(s.age_group) = 1 OR s.age_group IS NOT NULL);
    DELETE FROM recs.popular_segments p
    WHERE NOT EXISTS (SELECT 1 FROM popular_counted c WHERE c.gender = p.gender AND c.age_group = p.age_group);
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    v_written := v_written + v_rows;
    INSERT INTO recs.popular_segments AS p (gender, age_group, users)
    SELECT c.gender, c.age_group, c.users FROM popular_counted c
    ON CONFLICT (gender, age_group) DO UPDATE SET users = excluded.users WHERE p.users <> excluded.users;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    v_written := v_written + v_rows;
    DROP TABLE popular_counted;
    IF v_written > 0 THEN
        ANALYZE recs.popular_segments;  -- a few rows: GET /stats reads its count from the statistics
    END IF;

    IF p_presents THEN
        -- A few hundred rows: written again whole (readers keep the old ones until commit).
        DELETE FROM recs.popular_filter_counts;
        INSERT INTO recs.popular_filter_counts (category, platform, presents)
        SELECT CASE WHEN GROUPING(p.category) = 1 THEN '*' ELSE p.category END,
               CASE WHEN GROUPING(p.platform) = 1 THEN '*' ELSE p.platform END,
               count(*)
        FROM recs.popular_prior_items p
        GROUP BY GROUPING SETS ((p.category, p.platform), (p.category), (p.platform), ())
        HAVING (GROUPING(p.category) = 1 OR p.category IS NOT NULL)
           AND (GROUPING(p.platform) = 1 OR p.platform IS NOT NULL);
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        v_written := v_written + v_rows;
        DELETE FROM recs.popular_region_counts;
        INSERT INTO recs.popular_region_counts (geo_id, category, platform, presents)
        SELECT g.geo_id,
               CASE WHEN GROUPING(p.category) = 1 THEN '*' ELSE p.category END,
               CASE WHEN GROUPING(p.platform) = 1 THEN '*' ELSE p.platform END,
               count(*)
        FROM recs.popular_prior_items p
        CROSS JOIN LATERAL (SELECT DISTINCT e.geo_id FROM unnest(p.geo_ids) AS e(geo_id) WHERE e.geo_id IS NOT NULL
                            UNION ALL
                            SELECT -1 WHERE p.geo_ids IS NULL) AS g(geo_id)
        GROUP BY GROUPING SETS ((g.geo_id, p.category, p.platform), (g.geo_id, p.category),
                                (g.geo_id, p.platform), (g.geo_id))
        HAVING (GROUPING(p.category) = 1 OR p.category IS NOT NULL)
           AND (GROUPING(p.platform) = 1 OR p.platform IS NOT NULL);
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        v_written := v_written + v_rows;
        -- Per category and platform filter, the presents below each whole price that some
        -- present's price has plus one (about 20k rows for 100k presents).
        DELETE FROM recs.popular_price_counts;
        INSERT INTO recs.popular_price_counts (category, platform, price_floor, presents_below)
        SELECT r.category, r.platform, r.price_floor, r.presents_below FROM recs.popular_price_count_rows r;
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        v_written := v_written + v_rows;
        ANALYZE recs.popular_filter_counts, recs.popular_region_counts, recs.popular_price_counts;
    END IF;
    PERFORM recs.job_step('popular.counts');
    RETURN v_written;
END;
$$;
COMMENT ON FUNCTION recs.popular_write_counts(boolean) IS
    'Popularity job: recs.popular_segments from the users'' segments and, when presents changed, the pre-counted totals; only differing segment rows written.';
