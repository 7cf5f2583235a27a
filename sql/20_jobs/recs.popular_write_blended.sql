-- recs.popular_write_blended: the served ranking of every demographic segment (recs.popular_blended),
-- recomputed from recs.popular_items at the end of each popularity run. A segment's present scores
--   score(segment, present) + w × score(global, present),   w = k / N
-- where k = popular_segment_prior_users and N = the users counted globally: the segment's per-user
-- rate of the present pulled towards the global rate as if k more users had acted like everyone
-- (empirical-Bayes shrinkage), so a small segment follows the global ranking and a large one its
-- own. Candidates: the segment's first popular_segment_depth presents by its own score and the
-- global first as many; the first popular_segment_depth of them are kept. The work is bounded by
-- segments × depth, whatever the catalogue; only rows that differ are written (readers keep the old
-- ones until the job commits).
-- Arguments: none (reads the settings). Result: rows written. Errors: none of its own.
-- Caller: recs.job_refresh_popular_items (after the full or the incremental path).
CREATE OR REPLACE FUNCTION recs.popular_write_blended() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_depth integer := recs.setting('popular_segment_depth')::integer;
    v_weight double precision;
    v_rows bigint;
    v_written bigint := 0;
BEGIN
    SELECT recs.setting('popular_segment_prior_users')::double precision / s.users INTO v_weight
    FROM recs.popular_segments s WHERE s.gender = '*' AND s.age_group = '*' AND s.users > 0;
    v_weight := coalesce(v_weight, 0);

    CREATE TEMP TABLE popular_global_top ON COMMIT DROP AS
    SELECT p.item_id FROM recs.popular_items p
    WHERE p.gender = '*' AND p.age_group = '*'
    ORDER BY p.score DESC, p.item_id
    LIMIT v_depth;
    CREATE TEMP TABLE popular_blended_new ON COMMIT DROP AS
    WITH candidates AS (
        SELECT s.gender, s.age_group, c.item_id
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
    blended AS (
        SELECT c.gender, c.age_group, c.item_id, g.present_id,
               coalesce(own.score, 0) + v_weight * g.score AS score,
               g.price, g.category, g.platform, g.geo_ids,
               row_number() OVER (PARTITION BY c.gender, c.age_group
                                  ORDER BY coalesce(own.score, 0) + v_weight * g.score DESC, c.item_id) AS position
        FROM candidates c
        JOIN recs.popular_items g ON g.gender = '*' AND g.age_group = '*' AND g.item_id = c.item_id
        LEFT JOIN recs.popular_items own
            ON own.gender = c.gender AND own.age_group = c.age_group AND own.item_id = c.item_id
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
    'Popularity job: each segment''s served ranking (recs.popular_blended), its scores shrunk towards the global ones, from the segment''s and the global top popular_segment_depth; only differing rows written.';
