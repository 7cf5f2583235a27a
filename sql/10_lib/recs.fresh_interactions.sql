-- recs.fresh_interactions: a user's likes and clicks on public presents that the last sync may
-- not have copied yet (newer than each table's watermark minus the overlap window), read live
-- from main through the FDW, so a present the user just liked is never recommended to them.
-- Arguments: p_user_id. Result: (item_id, liked, created_at) per event.
-- Errors: FDW errors when main is unreachable; callers catch them and degrade.
-- Caller: recs.user_interactions, api.personalized_cache_state. Its plan is generic, even under a
--   caller's force_custom_plan: planned once per session, so no call pays the remote estimates
--   (two EXPLAIN round trips to main; 0.5 ms of a cache-state check's 2.2 ms at the target scale).
CREATE OR REPLACE FUNCTION recs.fresh_interactions(p_user_id uuid)
RETURNS TABLE (item_id integer, liked boolean, created_at timestamptz)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_overlap interval := make_interval(mins => recs.setting('sync_overlap_minutes')::int);
    v_likes_from timestamptz := coalesce(
        (SELECT s.watermark FROM recs.sync_state s WHERE s.source = 'handpicked_likes') - v_overlap, '-infinity');
    v_clicks_from timestamptz := coalesce(
        (SELECT s.watermark FROM recs.sync_state s WHERE s.source = 'handpicked_present_clicks') - v_overlap,
        '-infinity');
BEGIN
    RETURN QUERY
    SELECT i.item_id, e.liked, e.created_at
    FROM (SELECT true AS liked, l.handpicked_present_id AS present_id, l.created_at
          FROM main.handpicked_likes l
          WHERE l.user_id = p_user_id AND l.created_at > v_likes_from
          UNION ALL
          SELECT false, c.handpicked_present_id, c.created_at
          FROM main.handpicked_present_clicks c
          WHERE c.user_id = p_user_id AND c.created_at > v_clicks_from) e
    JOIN recs.items i ON i.present_id = e.present_id;
END;
$$;
COMMENT ON FUNCTION recs.fresh_interactions(uuid) IS
    'A user''s events newer than the sync watermark, live from main (FDW). Used to never recommend what the user just liked or clicked.';
