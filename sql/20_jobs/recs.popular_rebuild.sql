-- recs.popular_rebuild: the full path of the popularity job (the first run, after a full resync
-- of the interactions, or when the decay epoch, half-life or weights changed): recs.popular_items
-- computed whole from recs.interactions, each (exact segment, present) cell summed once before the
-- grouping sets of the levels the table holds (gender, age group, global; a gender x age group
-- cell is served from its two groups' lifts, recs.popular_write_blended, and stored nowhere),
-- every available public present with a global row (score 0 without events). An empty table is
-- loaded with its primary key and secondary indexes built afterwards (each by one sort, rather than
-- maintained row by row); a live one gets only the rows that differ (deleted, updated, inserted),
-- so readers keep the old rows until the job commits. The helper tables start again from this
-- state: recs.popular_user_segments from the current demographics, recs.popular_prior_items from
-- the available presents, recs.popular_changes emptied; then the segments' users and the totals
-- (recs.popular_write_counts).
-- Arguments: p_epoch, p_half_life_days (the decay of the stored sums), p_like_weight,
--   p_click_weight. Result: rows written.
-- Errors: none of its own. Caller: recs.job_refresh_popular_items.
CREATE OR REPLACE FUNCTION recs.popular_rebuild(
    p_epoch timestamptz, p_half_life_days double precision, p_like_weight double precision,
    p_click_weight double precision
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_index_definitions text[];
    v_primary_key text;
    v_rows bigint;
    v_written bigint := 0;
BEGIN
    -- Only the jobs and erasures read these, and both wait for this job (an advisory lock).
    TRUNCATE recs.popular_changes, recs.popular_user_segments, recs.popular_prior_items;
    INSERT INTO recs.popular_user_segments (user_key, gender, age_group)
    SELECT x.user_key, d.gender, d.age_group
    FROM (SELECT DISTINCT i.user_key FROM recs.interactions i) x
    LEFT JOIN recs.user_demographics d ON d.user_key = x.user_key;
    INSERT INTO recs.popular_prior_items (item_id, present_id, price, category, platform, geo_ids)
    SELECT i.item_id, i.present_id, i.price, i.category, i.platform, i.geo_ids
    FROM recs.items i WHERE i.available;
    ANALYZE recs.popular_user_segments, recs.popular_prior_items;
    PERFORM recs.job_step('popular.user_segments');

    CREATE TEMP TABLE popular_rebuilt ON COMMIT DROP AS
    WITH cells AS (
        SELECT s.gender, s.age_group, x.item_id,
               sum(recs.popularity_score(x.liked_at, x.click_decay, p_epoch, p_half_life_days,
                                         p_like_weight, p_click_weight)) AS score,
               count(*) AS users
        FROM recs.interactions x
        JOIN recs.popular_user_segments s ON s.user_key = x.user_key
        GROUP BY s.gender, s.age_group, x.item_id
    ),
    segment_scores AS (
        SELECT CASE WHEN GROUPING(c.gender) = 1 THEN '*' ELSE c.gender END AS gender,
               CASE WHEN GROUPING(c.age_group) = 1 THEN '*' ELSE c.age_group END AS age_group,
               c.item_id, sum(c.score) AS score, sum(c.users)::integer AS users
        FROM cells c
        GROUP BY GROUPING SETS ((c.gender, c.item_id), (c.age_group, c.item_id), (c.item_id))
    )
    SELECT s.gender, s.age_group, i.item_id, i.present_id, s.score, s.users,
           i.price, i.category, i.platform, i.geo_ids
    FROM segment_scores s
    JOIN recs.popular_prior_items i ON i.item_id = s.item_id
    WHERE s.gender IS NOT NULL AND s.age_group IS NOT NULL
    UNION ALL
    SELECT '*', '*', i.item_id, i.present_id, 0, 0, i.price, i.category, i.platform, i.geo_ids
    FROM recs.popular_prior_items i
    WHERE NOT EXISTS (SELECT 1 FROM recs.interactions x WHERE x.item_id = i.item_id);
    PERFORM recs.job_step('popular.computed');

    IF NOT EXISTS (SELECT 1 FROM recs.popular_items) THEN
        v_index_definitions := recs.drop_secondary_indexes('recs.popular_items');
        v_primary_key := recs.drop_primary_key('recs.popular_items');
        INSERT INTO recs.popular_items (gender, age_group, item_id, present_id, score, users,
                                        price, category, platform, geo_ids)
        SELECT * FROM popular_rebuilt;
        GET DIAGNOSTICS v_written = ROW_COUNT;
        PERFORM recs.create_indexes(v_primary_key || v_index_definitions);
    ELSE
        CREATE UNIQUE INDEX ON popular_rebuilt (gender, age_group, item_id);
        ANALYZE popular_rebuilt;
        DELETE FROM recs.popular_items p
        WHERE NOT EXISTS (SELECT 1 FROM popular_rebuilt r
                          WHERE r.gender = p.gender AND r.age_group = p.age_group AND r.item_id = p.item_id);
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        v_written := v_written + v_rows;
        UPDATE recs.popular_items p
        SET present_id = r.present_id, score = r.score, users = r.users, price = r.price,
            category = r.category, platform = r.platform, geo_ids = r.geo_ids
        FROM popular_rebuilt r
        WHERE r.gender = p.gender AND r.age_group = p.age_group AND r.item_id = p.item_id
          AND (p.present_id, p.score, p.users, p.price, p.category, p.platform, p.geo_ids)
              IS DISTINCT FROM (r.present_id, r.score, r.users, r.price, r.category, r.platform, r.geo_ids);
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        v_written := v_written + v_rows;
        INSERT INTO recs.popular_items (gender, age_group, item_id, present_id, score, users,
                                        price, category, platform, geo_ids)
        SELECT r.* FROM popular_rebuilt r
        WHERE NOT EXISTS (SELECT 1 FROM recs.popular_items p
                          WHERE p.gender = r.gender AND p.age_group = r.age_group AND p.item_id = r.item_id);
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        v_written := v_written + v_rows;
    END IF;
    DROP TABLE popular_rebuilt;
    PERFORM recs.job_step('popular.written');
    -- Fresh statistics: the planner sees the new contents, and GET /stats its row count.
    ANALYZE recs.popular_items;
    PERFORM recs.job_step('popular.analyze');
    RETURN v_written + recs.popular_write_counts(true);
END;
$$;
COMMENT ON FUNCTION recs.popular_rebuild(timestamptz, double precision, double precision, double precision) IS
    'Popularity job, full path: recs.popular_items (gender, age group and global levels) computed whole (only differing rows written to a live table); helper tables reset.';
