-- recs.sync_replace_interactions: step 4b of recs.sync_main on a full resync of a live table:
-- rows that differ from sync_pairs are replaced (a decayed click sum differing by rounding only
-- is not a difference), rows main no longer has (unlikes, deleted events or users) are deleted;
-- the users of both go into the temp table sync_changed_users.
-- Arguments: none. Result: rows replaced or deleted. Errors: none.
-- Caller: recs.sync_main.
CREATE OR REPLACE FUNCTION recs.sync_replace_interactions() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_rows bigint;
BEGIN
    WITH removed AS (
        DELETE FROM recs.interactions x
        WHERE NOT EXISTS (SELECT 1 FROM sync_pairs p WHERE p.user_key = x.user_key AND p.item_id = x.item_id)
        RETURNING x.user_key
    ),
    replaced AS (
        INSERT INTO recs.interactions AS x (user_key, item_id, liked_at, clicks, click_decay, first_at, last_at)
        SELECT * FROM sync_pairs
        ON CONFLICT (user_key, item_id) DO UPDATE
            SET liked_at = excluded.liked_at, clicks = excluded.clicks, click_decay = excluded.click_decay,
                first_at = excluded.first_at, last_at = excluded.last_at
            WHERE (x.liked_at, x.clicks, x.first_at, x.last_at)
                  IS DISTINCT FROM (excluded.liked_at, excluded.clicks, excluded.first_at, excluded.last_at)
               -- The stored sum was added up sync by sync, this one in one go: equal to rounding.
               OR abs(x.click_decay - excluded.click_decay) > 1e-9 * greatest(x.click_decay, excluded.click_decay)
        RETURNING x.user_key
    )
    INSERT INTO sync_changed_users SELECT user_key FROM removed UNION ALL SELECT user_key FROM replaced;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END;
$$;
COMMENT ON FUNCTION recs.sync_replace_interactions() IS
    'Sync step 4b, full resync: recs.interactions made equal to sync_pairs (differences replaced, the rest deleted).';
