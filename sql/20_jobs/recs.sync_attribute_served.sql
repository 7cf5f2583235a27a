-- recs.sync_attribute_served: a step of recs.sync_main: the likes and clicks the sync read (temp
-- table sync_events) are attributed to the served presents they follow, last touch: each event is
-- credited to the most recent impression of that present to that user at or before the event and
-- less than online_attribution_hours earlier (one row per event, found on
-- served_presents_attribution_idx). That impression gets the time of its first click (clicked_at)
-- and of its like (liked_at). Events read again (the sync overlap, a full resync) find the same
-- impression and change nothing: the earliest time is kept. An impression that newly got a click
-- (a like) adds one to the clicks (likes) of its hour, route, algorithm and variant in
-- recs.online_hourly.
-- Arguments: none. Result: served presents updated (at most one per event).
-- Errors: none of its own. Caller: recs.sync_main, after recs.sync_read_events.
CREATE OR REPLACE FUNCTION recs.sync_attribute_served() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_window interval := make_interval(hours => recs.setting('online_attribution_hours')::int);
    v_oldest timestamptz := (SELECT min(p.served_at) FROM recs.served_pages p);  -- its index: no scan
    v_updated bigint;
BEGIN
    IF v_oldest IS NULL THEN
        RETURN 0;
    END IF;
    WITH touched AS (
        SELECT last_touch.recommendation_id, last_touch.position, e.created_at, e.is_like
        FROM sync_events e
        CROSS JOIN LATERAL (
            SELECT s.recommendation_id, s.position
            FROM recs.served_presents s
            WHERE s.user_id = e.user_id AND s.item_id = e.item_id
              AND s.served_at <= e.created_at AND s.served_at > e.created_at - v_window
            ORDER BY s.served_at DESC, s.recommendation_id DESC, s.position DESC
            LIMIT 1
        ) last_touch
        WHERE e.created_at >= v_oldest AND e.user_id IS NOT NULL
    ), firsts AS (
        SELECT t.recommendation_id, t.position,
               min(t.created_at) FILTER (WHERE NOT t.is_like) AS clicked_at,
               min(t.created_at) FILTER (WHERE t.is_like) AS liked_at
        FROM touched t
        GROUP BY t.recommendation_id, t.position
    ), credited AS (
        UPDATE recs.served_presents s
        SET clicked_at = least(s.clicked_at, f.clicked_at), liked_at = least(s.liked_at, f.liked_at)
        FROM firsts f
        JOIN recs.served_presents prior ON prior.recommendation_id = f.recommendation_id
                                       AND prior.position = f.position
        WHERE s.recommendation_id = f.recommendation_id AND s.position = f.position
          AND (s.clicked_at IS DISTINCT FROM least(s.clicked_at, f.clicked_at)
               OR s.liked_at IS DISTINCT FROM least(s.liked_at, f.liked_at))
        RETURNING s.recommendation_id,
                  (prior.clicked_at IS NULL AND f.clicked_at IS NOT NULL)::int AS new_click,
                  (prior.liked_at IS NULL AND f.liked_at IS NOT NULL)::int AS new_like
    ), counted AS (
        INSERT INTO recs.online_hourly AS h (hour, route, algorithm, experiment, variant, clicks, likes)
        SELECT date_trunc('hour', p.served_at, 'UTC'), p.route, p.algorithm, p.experiment, p.variant,
               sum(c.new_click), sum(c.new_like)
        FROM credited c
        JOIN recs.served_pages p ON p.recommendation_id = c.recommendation_id
        WHERE c.new_click + c.new_like > 0
        GROUP BY 1, 2, 3, 4, 5
        ORDER BY 1, 2, 3, 4, 5  -- the lock order of api.record_served: no deadlock on the counters
        ON CONFLICT ON CONSTRAINT online_hourly_key DO UPDATE
        SET clicks = h.clicks + excluded.clicks, likes = h.likes + excluded.likes
    )
    SELECT count(*) INTO v_updated FROM credited;
    PERFORM recs.job_step('sync.served_attributed');
    RETURN v_updated;
END;
$$;
COMMENT ON FUNCTION recs.sync_attribute_served() IS
    'Sync step: last-touch attribution of clicks and likes (temp table sync_events) to the latest impression of that present to that user within online_attribution_hours.';
