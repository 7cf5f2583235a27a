-- recs.popular_segment_prior: popular_segment_prior_events in the units of the stored popularity
-- scores: that many likes at the newest synced event (like_weight × its decay weight against the
-- decay epoch), so the prior means the same however far the events have moved from the epoch.
-- Arguments: none (reads the settings and recs.sync_state).
-- Result: the prior (0 when the setting is 0; without a synced event, the setting × like_weight).
-- Errors: none. Caller: recs.popular_write_blended (and tests, to rank as it does).
CREATE OR REPLACE FUNCTION recs.popular_segment_prior() RETURNS double precision
LANGUAGE sql STABLE AS $$
    SELECT recs.setting('popular_segment_prior_events')::double precision
           * recs.setting('like_weight')::double precision
           * coalesce((SELECT recs.decay_weight(max(w.watermark), d.decay_epoch, d.half_life_days)
                       FROM recs.sync_state d
                       JOIN recs.sync_state w ON w.source IN ('handpicked_likes', 'handpicked_present_clicks')
                       WHERE d.source = 'decay'
                       GROUP BY d.decay_epoch, d.half_life_days), 1);
$$;
COMMENT ON FUNCTION recs.popular_segment_prior() IS
    'popular_segment_prior_events as a score: that many likes at the newest synced event (like_weight x decay weight). Used by recs.popular_write_blended.';
