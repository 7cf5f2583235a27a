-- recs.sync_read_events: step 2 of recs.sync_main. Reads the likes and clicks on public presents
-- into the temp table sync_events (is_like, id, user_id, item_id, created_at): every event on a
-- full resync, else those newer than each table's watermark minus sync_overlap_minutes (late
-- commits), clicks already counted (recs.recent_click_ids) left out. Events on presents that are
-- not public never match recs.items and are dropped.
-- Arguments: p_full (a full resync: recs.recent_click_ids is emptied, everything read).
-- Result: none (the temp table). Errors: FDW errors when main is unreachable.
-- Caller: recs.sync_main.
CREATE OR REPLACE FUNCTION recs.sync_read_events(p_full boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_overlap interval := make_interval(mins => recs.setting('sync_overlap_minutes')::int);
    v_likes_from timestamptz := '-infinity';
    v_clicks_from timestamptz := '-infinity';
BEGIN
    IF p_full THEN
        TRUNCATE recs.recent_click_ids;
    ELSE
        v_likes_from := coalesce(
            (SELECT watermark FROM recs.sync_state WHERE source = 'handpicked_likes') - v_overlap, '-infinity');
        v_clicks_from := coalesce(
            (SELECT watermark FROM recs.sync_state WHERE source = 'handpicked_present_clicks') - v_overlap,
            '-infinity');
    END IF;

    CREATE TEMP TABLE sync_events ON COMMIT DROP AS
    SELECT true AS is_like, l.id, l.user_id, i.item_id, l.created_at
    FROM main.handpicked_likes l
    JOIN recs.items i ON i.present_id = l.handpicked_present_id
    WHERE l.created_at > v_likes_from
    UNION ALL
    SELECT false, c.id, c.user_id, i.item_id, c.created_at
    FROM main.handpicked_present_clicks c
    JOIN recs.items i ON i.present_id = c.handpicked_present_id
    WHERE c.created_at > v_clicks_from;

    IF NOT p_full THEN
        DELETE FROM sync_events e USING recs.recent_click_ids r WHERE NOT e.is_like AND r.id = e.id;
    END IF;
    PERFORM recs.job_step('sync.events_read');
END;
$$;
COMMENT ON FUNCTION recs.sync_read_events(boolean) IS
    'Sync step 2: the likes and clicks to apply (all, or newer than the watermarks minus the overlap) into temp table sync_events.';
