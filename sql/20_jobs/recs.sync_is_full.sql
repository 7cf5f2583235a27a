-- recs.sync_is_full: whether this sync re-reads every event (a full resync) rather than the events
-- newer than the watermarks: on the first run, every full_resync_hours (unlikes and deleted
-- events only disappear then), when popularity_half_life_days changed, when recs.sync_state
-- rows were deleted (DELETE FROM recs.sync_state forces one), or when a watermark lies past the
-- sync's clock (set by an event stamped ahead before watermarks were held to the sync's clock:
-- the events since were never read; a watermark a sync writes is at most its clock, read after
-- the lock, so the next sync's clock is later), or when sync_overlap_minutes grew past the window
-- whose click ids recs.recent_click_ids keeps (a wider re-read would count the clicks between the
-- two windows again).
-- Arguments: p_half_life_days, the current setting. Result: true for a full resync.
-- Errors: none. Caller: recs.sync_main.
CREATE OR REPLACE FUNCTION recs.sync_is_full(p_half_life_days double precision) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_decay recs.sync_state;
BEGIN
    SELECT * INTO v_decay FROM recs.sync_state WHERE source = 'decay';
    RETURN v_decay IS NULL OR v_decay.half_life_days IS DISTINCT FROM p_half_life_days
           OR v_decay.full_synced_at IS NULL
           OR v_decay.full_synced_at < now() - make_interval(hours => recs.setting('full_resync_hours')::int)
           OR NOT EXISTS (SELECT 1 FROM recs.sync_state WHERE source = 'handpicked_likes')
           OR NOT EXISTS (SELECT 1 FROM recs.sync_state WHERE source = 'handpicked_present_clicks')
           OR EXISTS (SELECT 1 FROM recs.sync_state
                      WHERE source IN ('handpicked_likes', 'handpicked_present_clicks')
                        AND watermark > recs.sync_clock())
           OR EXISTS (SELECT 1 FROM recs.sync_state
                      WHERE source = 'handpicked_present_clicks'
                        AND coalesce((details ->> 'overlap_minutes')::double precision, 0)
                            < recs.setting('sync_overlap_minutes')::integer);
END;
$$;
COMMENT ON FUNCTION recs.sync_is_full(double precision) IS
    'Should this sync re-read every event (first run, every full_resync_hours, half-life changed, state deleted, a watermark in the future, a wider overlap window)?';
