-- recs.sync_add_interactions: step 4b of recs.sync_main on an incremental sync: the new events
-- of sync_pairs are added to what is stored (a like keeps its first time, clicks and decayed sums
-- add up, first and last times widen); the users of changed rows go into the temp table
-- sync_changed_users.
-- Arguments: none. Result: rows inserted or updated. Errors: none.
-- Caller: recs.sync_main.
CREATE OR REPLACE FUNCTION recs.sync_add_interactions() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_rows bigint;
BEGIN
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
    'Sync step 4b, incremental: the new events of sync_pairs added to recs.interactions.';
