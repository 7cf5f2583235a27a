-- recs.popular_write_blended: the served ranking of every demographic segment (recs.popular_blended),
-- recomputed from recs.popular_items at the end of each popularity run. A present i of a segment
-- with n users (of N counted globally) scores
--   G_i × (S_i + a) / (G_i × n / N + a)
-- with G_i its global score, S_i its score in the segment and a = popular_segment_prior_events
-- likes (recs.popular_segment_prior: as many likes at the newest event, in the scores' units):
-- the global score times the present's lift in the segment (what the segment gave it over what it
-- would give at the global rate), shrunk towards 1 by a prior of a decayed likes (empirical Bayes,
-- gamma-Poisson). Where the segment has little evidence on a present, its lift stays near 1 and the
-- present near its global place; where it has much (a popular present in a large segment), the
-- segment's own rate decides. a = 0 is the segment alone (S_i × N / n). Candidates: the segment's
-- first popular_segment_depth presents by its own score and the global first as many (the score
-- grows with both, so a present outside both scores at most what their last ones would); the first
-- popular_segment_depth of them are kept. The work is bounded by segments × depth, whatever the
-- catalogue; only rows that differ are written (readers keep the old ones until the job commits).
-- Arguments: none (reads the settings). Result: rows written. Errors: none of its own.
-- Caller: recs.job_refresh_popular_items (after the full or the incremental path).
CREATE OR REPLACE FUNCTION recs.popular_write_blended() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_depth integer := recs.setting('popular_segment_depth')::integer;
    v_prior double precision := recs.popular_segment_prior();  -- a, as a score
    v_users double precision;    -- N, the users counted globally
    v_rows bigint;
    v_written bigint := 0;
BEGIN
    SELECT s.users INTO v_users
    FROM recs.popular_segments s WHERE s.gender = '*' AND s.age_group = '*' AND s.users > 0;

    CREATE TEMP TABLE popular_global_top ON COMMIT DROP AS
    SELECT p.item_id FROM recs.popular_items p
    WHERE p.gender = '*' AND p.age_group = '*'
    ORDER BY p.score DESC, p.item_id
    LIMIT v_depth;
    CREATE TEMP TABLE popular_blended_new ON COMMIT DROP AS
    WITH candidates AS (
        SELECT s.gender, s.age_group, s.users, c.item_id
        FROM recs.popular_segments s
        CROSS JOIN LATERAL (
            (SELECT p.item_id FROM recs.popular_items p
             WHERE p.gender = s.gender AND p.age_group = s.age_group
             ORDER BY p.score DESC, p.item_id
             LIMIT v_depth)
            UNION
            SELECT t.item_id FROM popular_global_top t) c
        WHERE (s.gender, s.age_group) <> ('*', '*')
    ),
    shrunk AS (
        SELECT c.gender, c.age_group, c.item_id, g.present_id,
               coalesce(g.score * (coalesce(own.score, 0) + v_prior)
                        / nullif(g.score * c.users / v_users + v_prior, 0), 0) AS score,
               g.price, g.category, g.platform, g.geo_ids
        FROM candidates c
        JOIN recs.popular_items g ON g.gender = '*' AND g.age_group = '*' AND g.item_id = c.item_id
        LEFT JOIN recs.popular_items own
            ON own.gender = c.gender AND own.age_group = c.age_group AND own.item_id = c.item_id
    ),
    blended AS (
        SELECT h.*, row_number() OVER (PARTITION BY h.gender, h.age_group ORDER BY h.score DESC, h.item_id) AS position
        FROM shrunk h
    )
    SELECT b.gender, b.age_group, b.item_id, b.present_id, b.score, b.price, b.category, b.platform, b.geo_ids
    FROM blended b
    WHERE b.position <= v_depth;
    CREATE UNIQUE INDEX ON popular_blended_new (gender, age_group, item_id);
    ANALYZE popular_blended_new;
    PERFORM recs.job_step('popular.blended_computed');

    DELETE FROM recs.popular_blended p
    WHERE NOT EXISTS (SELECT 1 FROM popular_blended_new n
                      WHERE n.gender = p.gender AND n.age_group = p.age_group AND n.item_id = p.item_id);
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    v_written := v_written + v_rows;
    UPDATE recs.popular_blended p
    SET present_id = n.present_id, score = n.score, price = n.price, category = n.category,
        platform = n.platform, geo_ids = n.geo_ids
    FROM popular_blended_new n
    WHERE n.gender = p.gender AND n.age_group = p.age_group AND n.item_id = p.item_id
      AND (p.present_id, p.score, p.price, p.category, p.platform, p.geo_ids)
          IS DISTINCT FROM (n.present_id, n.score, n.price, n.category, n.platform, n.geo_ids);
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    v_written := v_written + v_rows;
    INSERT INTO recs.popular_blended (gender, age_group, item_id, present_id, score, price, category, platform, geo_ids)
    SELECT n.* FROM popular_blended_new n
    WHERE NOT EXISTS (SELECT 1 FROM recs.popular_blended p
                      WHERE p.gender = n.gender AND p.age_group = n.age_group AND p.item_id = n.item_id)
    ORDER BY n.gender, n.age_group, n.item_id;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    v_written := v_written + v_rows;
    DROP TABLE popular_global_top, popular_blended_new;
    PERFORM recs.job_step('popular.blended_written');
    RETURN v_written;
END;
$$;
COMMENT ON FUNCTION recs.popular_write_blended() IS
    'Popularity job: each segment''s served ranking (recs.popular_blended), the global score x the present''s lift in the segment shrunk towards 1 (popular_segment_prior_events), from the segment''s and the global top popular_segment_depth; only differing rows written.';
