-- recs.sync_presents: step 1 of recs.sync_main. Copies every public present (user_id IS NULL) of
-- main into recs.items: new ones inserted, changed attributes updated; a present that became
-- private or was deleted leaves the popularity tables that serve pages, recs.items and its
-- interactions (recs.remove_presents); the users of a present whose price, category or platform
-- changed are marked in recs.dirty_profiles. Leaves main's public presents in the temp table sync_presents for the
-- later steps (recs.sync_source_totals counts them), and those that entered recs.items now in
-- the temp table sync_entered (item_id, present_id): recs.sync_read_events reads their events
-- older than its window (those of a present made public after being private, or back after a
-- while private, were dropped as events on a present that was not public, or removed with it).
-- A present whose available is NULL in main is copied as unavailable; a price of 10^10 or more,
-- which recs.items cannot hold, or below 0 as NULL (unknown); a NULL created_at or updated_at as the other.
-- Refuses to empty recs.items when main holds no public present at all (a MAIN_DATABASE_URL
-- pointing at another database would otherwise take every present, interaction and dismissal).
-- Arguments: none. Result: rows of recs.items inserted, updated or deleted.
-- Errors: 55000 when main has no public present while recs.items has some; FDW errors when main
--   is unreachable. Caller: recs.sync_main.
CREATE OR REPLACE FUNCTION recs.sync_presents() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_removed bigint;
    v_written bigint;
    v_inserted bigint;
    v_profile_items integer[];
BEGIN
    -- A NULL available (a Rails boolean column without null: false) counts as false, as Rails'
    -- where(available: true) reads it: that present is never recommended, and the sync goes on.
    CREATE TEMP TABLE sync_presents ON COMMIT DROP AS
    -- A price recs.items cannot hold (10^10 or more: main's column may have no precision) is
    -- unknown, and so is a negative one (no check in Rails' column forbids it): no price filter
    -- takes either, where a negative price would pass every price_to as the cheapest present.
    SELECT p.id, CASE WHEN round(p.price, 2) >= 0 AND round(p.price, 2) < 1e10 THEN round(p.price, 2) END AS price,
           p.category, p.platform, p.geo_ids, coalesce(p.available, false) AS available,
           -- NULL timestamps (Rails before 5 made t.timestamps nullable): one for the other, else
           -- -infinity (recs.items keeps them for reference only).
           coalesce(p.created_at, p.updated_at, '-infinity') AS created_at,
           coalesce(p.updated_at, p.created_at, '-infinity') AS updated_at
    FROM main.handpicked_presents p
    WHERE p.user_id IS NULL;
    CREATE UNIQUE INDEX ON sync_presents (id);
    ANALYZE sync_presents;
    PERFORM recs.job_step('sync.presents_read');
    IF NOT EXISTS (SELECT 1 FROM sync_presents) AND EXISTS (SELECT 1 FROM recs.items) THEN
        RAISE EXCEPTION 'main.handpicked_presents holds no public present while % are known here: is MAIN_DATABASE_URL the Rails database? Nothing was removed',
            (SELECT count(*) FROM recs.items)
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    v_removed := recs.remove_presents(ARRAY(
        SELECT i.item_id FROM recs.items i WHERE NOT EXISTS (SELECT 1 FROM sync_presents s WHERE s.id = i.present_id)
    ));

    -- The profiles of the users of a present whose price, category or platform changes are
    -- recomputed (recs.job_refresh_user_profiles).
    SELECT array_agg(i.item_id) INTO v_profile_items
    FROM recs.items i
    JOIN sync_presents s ON s.id = i.present_id
    WHERE (i.price, i.category, i.platform) IS DISTINCT FROM (s.price, s.category, s.platform);
    IF v_profile_items IS NOT NULL THEN  -- by index, from the few changed presents
        INSERT INTO recs.dirty_profiles (user_key, changed_at)
        SELECT DISTINCT x.user_key, now()
        FROM recs.interactions x
        WHERE x.item_id = ANY (v_profile_items)
        ON CONFLICT (user_key) DO UPDATE SET changed_at = excluded.changed_at;
    END IF;

    -- Changed presents updated, new ones inserted, as two statements: an INSERT ... ON CONFLICT
    -- would draw a value of item_id's sequence for every present on every sync, changed or not.
    UPDATE recs.items i
    SET price = s.price, category = s.category, platform = s.platform, geo_ids = s.geo_ids,
        available = s.available, updated_at = s.updated_at
    FROM sync_presents s
    WHERE s.id = i.present_id
      AND (i.price, i.category, i.platform, i.geo_ids, i.available)
          IS DISTINCT FROM (s.price, s.category, s.platform, s.geo_ids, s.available);
    GET DIAGNOSTICS v_written = ROW_COUNT;
    CREATE TEMP TABLE sync_entered ON COMMIT DROP AS
    WITH entered AS (
        INSERT INTO recs.items (present_id, price, category, platform, geo_ids, available, created_at, updated_at)
        SELECT s.id, s.price, s.category, s.platform, s.geo_ids, s.available, s.created_at, s.updated_at
        FROM sync_presents s
        WHERE NOT EXISTS (SELECT 1 FROM recs.items i WHERE i.present_id = s.id)
        RETURNING item_id, present_id
    )
    SELECT e.item_id, e.present_id FROM entered e;
    SELECT count(*) INTO v_inserted FROM sync_entered;
    PERFORM recs.job_step('sync.presents_written');
    RETURN v_removed + v_written + v_inserted;
END;
$$;
COMMENT ON FUNCTION recs.sync_presents() IS
    'Sync step 1: main''s public presents into recs.items (upserted where changed; gone ones removed with their interactions).';
