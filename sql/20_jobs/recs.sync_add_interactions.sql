-- recs.sync_add_interactions: step 4b of recs.sync_main on an incremental sync: the new events
-- of sync_pairs are added to what is stored (a like keeps its first time, clicks and decayed sums
-- add up, first and last times widen); the users of changed rows go into the temp table
-- sync_changed_users. What the new events add to popularity is logged in recs.popular_changes
-- per (segment, present), under the segment the user is counted in (recs.popular_user_segments;
-- a user new to popularity is counted under their current demographics), so the popularity job
-- touches only those rows.
-- Arguments: none. Result: rows inserted or updated. Errors: none.
-- Caller: recs.sync_main (after recs.sync_decay_epoch: the epoch the pairs were summed against).
CREATE OR REPLACE FUNCTION recs.sync_add_interactions() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_decay recs.sync_state;
    v_like_weight double precision := recs.setting('like_weight')::double precision;
    v_click_weight double precision := recs.setting('popular_click_weight')::double precision;
    v_rows bigint;
BEGIN
    SELECT * INTO v_decay FROM recs.sync_state WHERE source = 'decay';
    INSERT INTO recs.popular_user_segments (user_key, gender, age_group)
    SELECT p.user_key, d.gender, d.age_group
    FROM (SELECT DISTINCT s.user_key FROM sync_pairs s) p
    LEFT JOIN recs.user_demographics d ON d.user_key = p.user_key
    ON CONFLICT (user_key) DO NOTHING;
    -- A like counts once, from its first time (as the upsert below keeps it); clicks add up.
    INSERT INTO recs.popular_changes (gender, age_group, item_id, score, users)
    SELECT s.gender, s.age_group, p.item_id,
           sum(recs.popularity_score(CASE WHEN x.liked_at IS NULL THEN p.liked_at END, p.click_decay,
                                     v_decay.decay_epoch, v_decay.half_life_days, v_like_weight, v_click_weight)),
           count(*) FILTER (WHERE x.user_key IS NULL)
    FROM sync_pairs p
    JOIN recs.popular_user_segments s ON s.user_key = p.user_key
    LEFT JOIN recs.interactions x ON x.user_key = p.user_key AND x.item_id = p.item_id
    GROUP BY s.gender, s.age_group, p.item_id
    HAVING count(*) FILTER (WHERE x.user_key IS NULL) > 0 OR sum(p.click_decay) > 0
        OR count(*) FILTER (WHERE x.liked_at IS NULL AND p.liked_at IS NOT NULL) > 0;  -- not events read again
    PERFORM recs.job_step('sync.popular_changes');

    WITH added AS (
        INSERT INTO recs.interactions AS x (user_key, item_id, liked_at, clicks, click_decay, first_at, last_at)
        SELECT * FROM sync_pairs
        ON CONFLICT (user_key, item_id) DO UPDATE
            SET liked_at = coalesce(x.liked_at, excluded.liked_at),
                clicks = x.clicks + excluded.clicks,
                click_decay = x.click_decay + excluded.click_decay,
                first_at = least(x.first_at, excluded.first_at),
                last_at = greatest(x.last_at, excluded.last_at)
            WHERE excluded.clicks > 0 OR x.liked_at IS NULL
        RETURNING x.user_key
    )
    INSERT INTO sync_changed_users SELECT user_key FROM added;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END;
$$;
COMMENT ON FUNCTION recs.sync_add_interactions() IS
    'Sync step 4b, incremental: the new events of sync_pairs added to recs.interactions, their popularity logged in recs.popular_changes.';
