-- recs.sync_watermarks: step 5 of recs.sync_main. Moves each main table's watermark to the newest
-- event read (never back), but never past the sync's clock (recs.sync_main's, read once it holds
-- the sync lock): an event stamped in the future (a
-- wrong clock, a bad import) would otherwise hide every event of the hours before its time from
-- the incremental syncs and the live reads; it is read again by each sync until its time comes
-- (likes are one row per user and present, clicks counted once by id). It also keeps the ids of
-- clicks still inside the overlap window in recs.recent_click_ids (older ones dropped), so the
-- next sync counts a re-read click once, and records the window they cover.
-- Arguments: none. Result: none. Errors: none.
-- Caller: recs.sync_main, after the events are written (reads sync_events).
CREATE OR REPLACE FUNCTION recs.sync_watermarks() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_overlap interval := make_interval(mins => recs.setting('sync_overlap_minutes')::int);
    v_clock timestamptz := recs.sync_clock();
BEGIN
    -- (least() and greatest() skip NULLs: a table with no event read yet keeps a NULL watermark.)
    INSERT INTO recs.sync_state AS s (source, watermark, synced_at, details)
    SELECT t.source, CASE WHEN t.newest IS NOT NULL THEN least(t.newest, v_clock) END, now(), t.details
    FROM (SELECT 'handpicked_likes' AS source, max(created_at) FILTER (WHERE is_like) AS newest,
                 NULL::jsonb AS details
          FROM sync_events
          UNION ALL
          -- The window the kept click ids cover (recs.sync_is_full: a wider one needs a full resync).
          SELECT 'handpicked_present_clicks', max(created_at) FILTER (WHERE NOT is_like),
                 jsonb_build_object('overlap_minutes', date_part('epoch', v_overlap) / 60)
          FROM sync_events) t
    ON CONFLICT (source) DO UPDATE
        SET watermark = CASE WHEN coalesce(s.watermark, excluded.watermark) IS NOT NULL
                             THEN least(greatest(s.watermark, excluded.watermark), v_clock) END,
            synced_at = now(), details = excluded.details;
    INSERT INTO recs.recent_click_ids (id, created_at)
    SELECT e.id, e.created_at FROM sync_events e
    WHERE NOT e.is_like
      AND e.created_at > (SELECT watermark FROM recs.sync_state WHERE source = 'handpicked_present_clicks') - v_overlap
    ON CONFLICT (id) DO NOTHING;
    DELETE FROM recs.recent_click_ids
    WHERE created_at <= (SELECT watermark FROM recs.sync_state WHERE source = 'handpicked_present_clicks') - v_overlap;
END;
$$;
COMMENT ON FUNCTION recs.sync_watermarks() IS
    'Sync step 5: watermarks to the newest events read; ids of clicks inside the overlap window kept for deduplication.';
