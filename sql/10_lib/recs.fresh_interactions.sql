-- recs.fresh_interactions: a user's likes and clicks on public presents that the last sync may
-- not have copied yet (newer than each table's watermark minus the overlap window), read live
-- from main through the FDW, so a present the user just liked is never recommended to them.
-- Arguments: p_user_id. Result: (item_id, liked, created_at) per event.
-- Errors: FDW errors when main is unreachable; callers catch them and degrade.
-- Caller: recs.read_fresh_interactions (for recs.user_interactions and
--   api.personalized_cache_state). Its plan is generic, even under a caller's force_custom_plan:
--   planned once per session, so no call pays the remote estimates (EXPLAIN round trips to main;
--   0.5 ms of a cache-state check's 2.2 ms at the target scale), and a call is one remote query
--   over both event tables. Runs in UTC, whatever the session's zone,
--   as recs.sync_main does: main's timestamp without time zone columns hold UTC.
CREATE OR REPLACE FUNCTION recs.fresh_interactions(p_user_id uuid)
RETURNS TABLE (item_id integer, liked boolean, created_at timestamptz)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
SET timezone = 'UTC' AS $$
DECLARE
    v_overlap interval := make_interval(mins => recs.setting('sync_overlap_minutes')::int);
    v_likes_from timestamptz := coalesce(
        (SELECT s.watermark FROM recs.sync_state s WHERE s.source = 'handpicked_likes') - v_overlap, '-infinity');
    v_clicks_from timestamptz := coalesce(
        (SELECT s.watermark FROM recs.sync_state s WHERE s.source = 'handpicked_present_clicks') - v_overlap,
        '-infinity');
BEGIN
    -- Both tables in one remote query: a FULL JOIN ON false of the two filtered reads is the
    -- union of their rows, and postgres_fdw ships a join of two tables of one server whole (a
    -- UNION ALL would be two remote cursors, each opened, fetched and closed in round trips of
    -- its own). A like's side has a created_at (NOT NULL in main), a click's side none.
    RETURN QUERY
    SELECT i.item_id, e.liked, e.created_at
    FROM (SELECT coalesce(l.handpicked_present_id, c.handpicked_present_id) AS present_id,
                 l.created_at IS NOT NULL AS liked,
                 coalesce(l.created_at, c.created_at) AS created_at
          FROM (SELECT l.handpicked_present_id, l.created_at
                FROM main.handpicked_likes l
                WHERE l.user_id = p_user_id AND l.created_at > v_likes_from) l
          FULL JOIN (SELECT c.handpicked_present_id, c.created_at
                     FROM main.handpicked_present_clicks c
                     WHERE c.user_id = p_user_id AND c.created_at > v_clicks_from) c ON false) e
    JOIN recs.items i ON i.present_id = e.present_id;
END;
$$;
COMMENT ON FUNCTION recs.fresh_interactions(uuid) IS
    'A user''s events newer than the sync watermark, live from main (FDW). Used to never recommend what the user just liked or clicked.';
