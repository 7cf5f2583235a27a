-- recs.popular_write_blended: the served ranking of every demographic segment (recs.popular_blended),
-- recomputed from recs.popular_items at the end of each popularity run. The groups are each gender
-- and each age group with users (recs.popular_segments); a present i's lift in a group of n users
-- (of N counted globally) is
--   L_i = (u_i + b) / (U_i × n / N + b)
-- with u_i and U_i its interacting users in the group and globally (recs.popular_items.users, all
-- time) and b = popular_lift_prior_users: what the group gave it over what it would give at the
-- global rate, shrunk towards 1 by a prior of b users (empirical Bayes, gamma-Poisson; 1 when there
-- is no evidence at all). A segment ranks i by its global (decayed) score times the lifts of its
-- groups, each raised to e = popular_lift_exponent (above 1 the groups weigh more against the
-- global score): G_i × L_i(gender)^e for a gender, G_i × L_i(age group)^e for an age group, and
-- G_i × (L_i(gender) × L_i(age group))^e for every combination of a gender and an age group (naive
-- Bayes: the two groups' evidence combined as if independent, whatever the size of the cell they
-- share). The global score brings recency; the lifts, counted in users over all time, a group's
-- lasting taste, so a present a group took little to keeps its global place. Candidates: the
-- global first popular_segment_depth presents and each group's first as many by its own score
-- (every present scored in every segment); the first popular_segment_depth of each segment are
-- kept. The work is bounded by segments × groups × depth, whatever the catalogue; only rows that
-- differ are written (readers keep the old ones until the job commits).
-- Arguments: p_gender, p_age_group: NULL, NULL (the default) writes every segment; else only the
--   segments a request of that gender and age group reads (the exact one, the gender's, the age
--   group's; recs.rank_popular), the others left as they are (reads the settings).
-- Result: rows written. Errors: 22023 for a gender other than m or f, or an unknown age group.
-- Caller: recs.job_refresh_popular_items (after the full or the incremental path, every segment);
--   tools/evaluate.py's leave-one-user-out cold start (a user's segments, in a transaction it rolls
--   back).
-- The form without arguments, before it took the segments, goes in the same transaction as this
-- one is created (a new argument list is a new function; the calls without arguments resolve to
-- this one), so no popularity run finds neither.
DROP FUNCTION IF EXISTS recs.popular_write_blended();
CREATE OR REPLACE FUNCTION recs.popular_write_blended(p_gender text DEFAULT NULL, p_age_group text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_depth integer := recs.setting('popular_segment_depth')::integer;
    v_prior double precision := recs.setting('popular_lift_prior_users')::double precision;  -- b
    v_exponent double precision := recs.setting('popular_lift_exponent')::double precision;  -- e
    v_users double precision;    -- N, the users counted globally
    v_rows bigint;
    v_written bigint := 0;
    v_every_segment boolean := num_nonnulls(p_gender, p_age_group) = 0;
BEGIN
    IF p_gender NOT IN ('m', 'f') OR p_age_group <> ALL (ARRAY(SELECT g.age_group FROM recs.age_groups() g)) THEN
        RAISE EXCEPTION 'recs.popular_write_blended: no segment % / %', p_gender, p_age_group
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT s.users INTO v_users
    FROM recs.popular_segments s WHERE s.gender = '*' AND s.age_group = '*' AND s.users > 0;

    CREATE TEMP TABLE popular_lift_groups ON COMMIT DROP AS
    SELECT s.gender, s.age_group, s.users::double precision AS users
    FROM recs.popular_segments s
    WHERE (s.gender = '*') <> (s.age_group = '*') AND s.users > 0;
    CREATE TEMP TABLE popular_lift_candidates ON COMMIT DROP AS
    SELECT g.item_id, g.present_id, g.score, g.users::double precision AS users,
           g.price, g.category, g.platform, g.geo_ids
    FROM recs.popular_items g
    WHERE g.gender = '*' AND g.age_group = '*'
      AND g.item_id IN (
          (SELECT p.item_id FROM recs.popular_items p
           WHERE p.gender = '*' AND p.age_group = '*'
           ORDER BY p.score DESC, p.item_id
           LIMIT v_depth)
          UNION
          SELECT c.item_id
          FROM popular_lift_groups r
          CROSS JOIN LATERAL (
              SELECT p.item_id FROM recs.popular_items p
              WHERE p.gender = r.gender AND p.age_group = r.age_group
              ORDER BY p.score DESC, p.item_id
              LIMIT v_depth) c);
    CREATE TEMP TABLE popular_lifts ON COMMIT DROP AS
    SELECT r.gender, r.age_group, c.item_id,
           CASE WHEN c.users * r.users / v_users + v_prior > 0
                THEN ((coalesce(own.users, 0) + v_prior) / (c.users * r.users / v_users + v_prior)) ^ v_exponent
                ELSE 1 END AS lift
    FROM popular_lift_groups r
    CROSS JOIN popular_lift_candidates c
    LEFT JOIN recs.popular_items own
        ON own.gender = r.gender AND own.age_group = r.age_group AND own.item_id = c.item_id
    -- The groups of the segments written (the candidates stay those of every group, as they are).
    WHERE v_every_segment OR r.gender = p_gender OR r.age_group = p_age_group;
    CREATE UNIQUE INDEX ON popular_lifts (gender, age_group, item_id);
    ANALYZE popular_lift_candidates, popular_lifts;

    -- Every gender, every age group, and every combination of the two (or those of the arguments).
    CREATE TEMP TABLE popular_blended_segments ON COMMIT DROP AS
    SELECT g.gender, a.age_group
    FROM (SELECT r.gender FROM popular_lift_groups r WHERE r.age_group = '*' UNION ALL SELECT '*') g
    CROSS JOIN (SELECT r.age_group FROM popular_lift_groups r WHERE r.gender = '*' UNION ALL SELECT '*') a
    WHERE (g.gender, a.age_group) <> ('*', '*')
      AND (v_every_segment
           OR (g.gender IN (p_gender, '*') AND a.age_group IN (p_age_group, '*')));

    CREATE TEMP TABLE popular_blended_new ON COMMIT DROP AS
    WITH segments AS (SELECT * FROM popular_blended_segments),
    scored AS (
        SELECT s.gender, s.age_group, c.item_id, c.present_id,
               c.score * coalesce(by_gender.lift, 1) * coalesce(by_age.lift, 1) AS score,
               c.price, c.category, c.platform, c.geo_ids
        FROM segments s
        CROSS JOIN popular_lift_candidates c
        LEFT JOIN popular_lifts by_gender
            ON by_gender.gender = s.gender AND by_gender.age_group = '*' AND by_gender.item_id = c.item_id
        LEFT JOIN popular_lifts by_age
            ON by_age.gender = '*' AND by_age.age_group = s.age_group AND by_age.item_id = c.item_id
    ),
    ranked AS (
        SELECT h.*, row_number() OVER (PARTITION BY h.gender, h.age_group ORDER BY h.score DESC, h.item_id) AS position
        FROM scored h
    )
    SELECT r.gender, r.age_group, r.item_id, r.present_id, r.score, r.price, r.category, r.platform, r.geo_ids
    FROM ranked r
    WHERE r.position <= v_depth;
    CREATE UNIQUE INDEX ON popular_blended_new (gender, age_group, item_id);
    ANALYZE popular_blended_new;
    PERFORM recs.job_step('popular.blended_computed');

    DELETE FROM recs.popular_blended p
    WHERE (v_every_segment  -- a segment left without users goes too
           OR (p.gender IN (p_gender, '*') AND p.age_group IN (p_age_group, '*')))
      AND NOT EXISTS (SELECT 1 FROM popular_blended_new n
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
    DROP TABLE popular_lift_groups, popular_lift_candidates, popular_lifts, popular_blended_segments,
        popular_blended_new;
    PERFORM recs.job_step('popular.blended_written');
    RETURN v_written;
END;
$$;
COMMENT ON FUNCTION recs.popular_write_blended(text, text) IS
    'Popularity job: each segment''s served ranking (recs.popular_blended), the global score x the present''s lifts in its gender and its age group (users, each shrunk towards 1 by popular_lift_prior_users, raised to popular_lift_exponent), from the global and the groups'' top popular_segment_depth; only differing rows written.';
