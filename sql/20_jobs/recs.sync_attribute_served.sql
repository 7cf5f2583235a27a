-- recs.sync_attribute_served: a step of recs.sync_main: the likes and clicks the sync read (temp
-- table sync_events) are attributed to the served presents they follow: a served present gets the
-- time of the first click (clicked_at) and of the like (liked_at) by the page's user on that
-- present at or after serving and less than online_attribution_hours later. Events read again
-- (the sync overlap, a full resync) change nothing: the earliest time is kept.
-- Arguments: none. Result: served presents updated.
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
    WITH firsts AS (
        SELECT s.recommendation_id, s.position,
               min(e.created_at) FILTER (WHERE NOT e.is_like) AS clicked_at,
               min(e.created_at) FILTER (WHERE e.is_like) AS liked_at
        FROM sync_events e
        JOIN recs.served_presents s
          ON s.user_id = e.user_id AND s.item_id = e.item_id
         AND s.served_at <= e.created_at AND s.served_at > e.created_at - v_window
        WHERE e.created_at >= v_oldest
        GROUP BY s.recommendation_id, s.position
    )
    UPDATE recs.served_presents s
    SET clicked_at = least(s.clicked_at, f.clicked_at), liked_at = least(s.liked_at, f.liked_at)
    FROM firsts f
    WHERE s.recommendation_id = f.recommendation_id AND s.position = f.position
      AND (s.clicked_at IS DISTINCT FROM least(s.clicked_at, f.clicked_at)
           OR s.liked_at IS DISTINCT FROM least(s.liked_at, f.liked_at));
    GET DIAGNOSTICS v_updated = ROW_COUNT;
    PERFORM recs.job_step('sync.served_attributed');
    RETURN v_updated;
END;
$$;
COMMENT ON FUNCTION recs.sync_attribute_served() IS
    'Sync step: first click and like by the same user on a served present within online_attribution_hours (from temp table sync_events).';
