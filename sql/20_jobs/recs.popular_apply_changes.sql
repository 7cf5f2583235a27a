-- recs.popular_apply_changes: the incremental path of the popularity job. Touches only the
-- (segment, present) rows whose sums changed since the last run:
--   1. the changes logged by syncs and erasures (recs.popular_changes), taken and deleted;
--   2. users whose demographics changed since they were counted (recs.popular_user_segments
--      against recs.user_demographics): their interactions leave the old segment for the new one;
--   3. presents that are new, gone, became available or not, or whose copied attributes changed
--      (recs.items against recs.popular_prior_items): their rows are rewritten whole from their
--      interactions, and the pre-counted totals recounted;
--   4. the changes (logged per exact segment) summed into the three levels each counts in (its
--      gender, its age group, global) and added to recs.popular_items; a row left without users goes
--      (a global one stays, score 0);
--   5. the segments' users and, when presents changed, the totals (recs.popular_write_counts).
-- The ranking needs no other work: the serving indexes order each segment by score.
-- Arguments: p_epoch, p_half_life_days, p_like_weight, p_click_weight (as the full path).
-- Result: rows written. Errors: none of its own.
-- Caller: recs.job_refresh_popular_items.
CREATE OR REPLACE FUNCTION recs.popular_apply_changes(
    p_epoch timestamptz, p_half_life_days double precision, p_like_weight double precision,
    p_click_weight double precision
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_moved bigint;
    v_items bigint;
    v_rows bigint;
    v_written bigint := 0;
BEGIN
    CREATE TEMP TABLE popular_delta ON COMMIT DROP AS
    SELECT c.gender, c.age_group, c.item_id, c.score, c.users FROM recs.popular_changes c WITH NO DATA;
    WITH taken AS (
        DELETE FROM recs.popular_changes c RETURNING c.gender, c.age_group, c.item_id, c.score, c.users
    )
    INSERT INTO popular_delta SELECT * FROM taken;

    CREATE TEMP TABLE popular_moved ON COMMIT DROP AS
    SELECT s.user_key, s.gender AS old_gender, s.age_group AS old_age_group, d.gender, d.age_group
    FROM recs.popular_user_segments s
    LEFT JOIN recs.user_demographics d ON d.user_key = s.user_key
    WHERE (s.gender, s.age_group) IS DISTINCT FROM (d.gender, d.age_group);
    GET DIAGNOSTICS v_moved = ROW_COUNT;
    IF v_moved > 0 THEN
        INSERT INTO popular_delta (gender, age_group, item_id, score, users)
        SELECT g.gender, g.age_group, x.item_id,
               g.sign * recs.popularity_score(x.liked_at, x.click_decay, p_epoch, p_half_life_days,
                                              p_like_weight, p_click_weight),
               g.sign
        FROM popular_moved m
        JOIN recs.interactions x ON x.user_key = m.user_key
        CROSS JOIN LATERAL (VALUES (m.old_gender, m.old_age_group, -1), (m.gender, m.age_group, 1))
            AS g(gender, age_group, sign);
        UPDATE recs.popular_user_segments s SET gender = m.gender, age_group = m.age_group
        FROM popular_moved m WHERE s.user_key = m.user_key;
    END IF;
    PERFORM recs.job_step('popular.changes_taken');

    CREATE TEMP TABLE popular_items_changed ON COMMIT DROP AS
    SELECT coalesce(i.item_id, p.item_id) AS item_id, i.item_id IS NOT NULL AS available
    FROM (SELECT a.item_id, a.present_id, a.price, a.category, a.platform, a.geo_ids
          FROM recs.items a WHERE a.available) i
    FULL JOIN recs.popular_prior_items p ON p.item_id = i.item_id
    WHERE (i.item_id, i.present_id, i.price, i.category, i.platform, i.geo_ids)
          IS DISTINCT FROM (p.item_id, p.present_id, p.price, p.category, p.platform, p.geo_ids);
    GET DIAGNOSTICS v_items = ROW_COUNT;
    IF v_items > 0 THEN
        DELETE FROM popular_delta d USING popular_items_changed c WHERE d.item_id = c.item_id;
        DELETE FROM recs.popular_items p
        USING popular_items_changed c,
              -- every segment's, cells too: rows a popularity run of an earlier version left
              (SELECT s.gender, s.age_group FROM recs.popular_segments s UNION SELECT '*', '*') s
        WHERE p.gender = s.gender AND p.age_group = s.age_group AND p.item_id = c.item_id;
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        v_written := v_written + v_rows;
        INSERT INTO popular_delta (gender, age_group, item_id, score, users)
        SELECT s.gender, s.age_group, x.item_id,
               recs.popularity_score(x.liked_at, x.click_decay, p_epoch, p_half_life_days,
                                     p_like_weight, p_click_weight),
               1
        FROM popular_items_changed c
        JOIN recs.interactions x ON x.item_id = c.item_id
        JOIN recs.popular_user_segments s ON s.user_key = x.user_key
        WHERE c.available;
        DELETE FROM recs.popular_prior_items p USING popular_items_changed c WHERE p.item_id = c.item_id;
        INSERT INTO recs.popular_prior_items (item_id, present_id, price, category, platform, geo_ids)
        SELECT i.item_id, i.present_id, i.price, i.category, i.platform, i.geo_ids
        FROM popular_items_changed c JOIN recs.items i ON i.item_id = c.item_id
        WHERE c.available;
    END IF;
    PERFORM recs.job_step('popular.presents_changed');

    CREATE TEMP TABLE popular_cells ON COMMIT DROP AS
    SELECT l.gender, l.age_group, d.item_id, sum(d.score) AS score, sum(d.users)::integer AS users
    FROM popular_delta d
    CROSS JOIN LATERAL (VALUES (d.gender, '*'), ('*', d.age_group), ('*', '*'))
        AS l(gender, age_group)
    WHERE l.gender IS NOT NULL AND l.age_group IS NOT NULL
    GROUP BY l.gender, l.age_group, d.item_id;
    INSERT INTO popular_cells (gender, age_group, item_id, score, users)
    SELECT '*', '*', c.item_id, 0, 0
    FROM popular_items_changed c
    WHERE c.available
      AND NOT EXISTS (SELECT 1 FROM popular_cells l
                      WHERE l.gender = '*' AND l.age_group = '*' AND l.item_id = c.item_id);

    -- Only presents available as the rows hold them: a change on any other is dropped.
    INSERT INTO recs.popular_items AS p (gender, age_group, item_id, present_id, score, users,
                                         price, category, platform, geo_ids)
    SELECT c.gender, c.age_group, c.item_id, i.present_id, c.score, c.users,
           i.price, i.category, i.platform, i.geo_ids
    FROM popular_cells c
    JOIN recs.popular_prior_items i ON i.item_id = c.item_id
    ORDER BY c.gender, c.age_group, c.item_id
    ON CONFLICT (gender, age_group, item_id) DO UPDATE
        SET score = CASE WHEN p.users + excluded.users > 0 THEN p.score + excluded.score ELSE 0 END,
            users = p.users + excluded.users
        WHERE excluded.users <> 0 OR excluded.score <> 0;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    v_written := v_written + v_rows;
    DELETE FROM recs.popular_items p
    USING popular_cells c
    WHERE p.gender = c.gender AND p.age_group = c.age_group AND p.item_id = c.item_id
      AND p.users <= 0 AND (p.gender, p.age_group) <> ('*', '*');
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    v_written := v_written + v_rows;
    PERFORM recs.job_step('popular.written');
    DROP TABLE popular_delta, popular_moved, popular_items_changed, popular_cells;
    RETURN v_written + recs.popular_write_counts(v_items > 0);
END;
$$;
COMMENT ON FUNCTION recs.popular_apply_changes(timestamptz, double precision, double precision, double precision) IS
    'Popularity job, incremental path: logged changes, moved users and changed presents applied to the changed (segment, present) rows only.';
