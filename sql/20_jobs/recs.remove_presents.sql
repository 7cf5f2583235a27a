-- recs.remove_presents: takes presents that main no longer has as public (made private, or
-- deleted) out of everything a page is served from: the popularity tables (recs.unserve_popular,
-- which bumps the 'popular' data version), their interactions (whose users are marked in
-- recs.dirty_users and recs.dirty_profiles, and leave recs.popular_user_segments when they have no
-- interaction left) and recs.items. The caller bumps 'synced' with the rest of its changes.
-- Arguments: p_item_ids, the presents' item ids (empty or NULL: nothing happens).
-- Result: rows of recs.items deleted. Errors: none of its own.
-- Caller: recs.sync_presents (every sync), recs.job_withdraw_presents (every minute).
CREATE OR REPLACE FUNCTION recs.remove_presents(p_item_ids integer[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_removed bigint;
BEGIN
    IF coalesce(cardinality(p_item_ids), 0) = 0 THEN
        RETURN 0;
    END IF;
    -- The popular pages are served from the popularity tables alone (covering indexes, no probe of
    -- recs.items): a present gone private or deleted leaves them now, not at the next popularity
    -- run; the new 'popular' version retires the cached pages. (One made unavailable leaves at the
    -- popularity run, which also brings it back if it returns.)
    PERFORM recs.unserve_popular(p_item_ids);
    CREATE TEMP TABLE removed_presents ON COMMIT DROP AS SELECT DISTINCT unnest(p_item_ids) AS item_id;
    CREATE TEMP TABLE removed_presents_users ON COMMIT DROP AS
    WITH removed AS (
        DELETE FROM recs.interactions x USING removed_presents g WHERE x.item_id = g.item_id RETURNING x.user_key
    )
    SELECT DISTINCT user_key FROM removed;
    INSERT INTO recs.dirty_users (user_key, changed_at)
    SELECT user_key, now() FROM removed_presents_users
    ON CONFLICT (user_key) DO UPDATE SET changed_at = excluded.changed_at;
    INSERT INTO recs.dirty_profiles (user_key, changed_at)
    SELECT user_key, now() FROM removed_presents_users
    ON CONFLICT (user_key) DO UPDATE SET changed_at = excluded.changed_at;
    -- A user left without interactions no longer counts in any popularity segment (the rows of
    -- the gone presents themselves go at the next popularity run: recs.popular_prior_items).
    DELETE FROM recs.popular_user_segments s USING removed_presents_users g
    WHERE s.user_key = g.user_key AND NOT EXISTS (SELECT 1 FROM recs.interactions x WHERE x.user_key = s.user_key);
    DELETE FROM recs.items i USING removed_presents g WHERE i.item_id = g.item_id;
    GET DIAGNOSTICS v_removed = ROW_COUNT;
    DROP TABLE removed_presents, removed_presents_users;
    RETURN v_removed;
END;
$$;
COMMENT ON FUNCTION recs.remove_presents(integer[]) IS
    'Take presents main no longer has as public out of the popularity tables, recs.interactions (users marked dirty) and recs.items.';
