-- recs.sync_attribute_served: a step of recs.sync_main: the likes and clicks the sync read (temp
-- table sync_events) are attributed to the served presents they follow, last touch: each event is
-- credited to the most recent page served to that user at or before the event and less than
-- online_attribution_hours earlier that shows the present (present = ANY (items)), found by walking
-- the user's pages newest first on served_pages_user_idx, at most online_attribution_pages of them
-- (the bound of the work per event when a user's pages are served very often and none shows the
-- present). That impression gets a recs.served_attributions row with the time of its first click
-- (clicked_at) and of its like (liked_at). Events read again (the sync overlap, a full resync)
-- find the same impression and change nothing: the earliest time is kept. An impression that newly
-- got a click (a like) adds one to the clicks (likes) of its hour, route, algorithm and variant in
-- recs.online_hourly. The pages credited are locked (FOR KEY SHARE) before their credits are
-- written: a page its user's erasure is deleting meanwhile is waited for and then left out, never
-- a foreign-key failure of the sync; an erasure that starts later waits for the sync's commit.
-- Arguments: none. Result: impressions credited or changed (at most one per event).
-- Errors: none of its own. Caller: recs.sync_main, after recs.sync_read_events.
CREATE OR REPLACE FUNCTION recs.sync_attribute_served() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_window interval := make_interval(hours => recs.setting('online_attribution_hours')::int);
    v_pages integer := recs.setting('online_attribution_pages')::int;
    -- A lower bound of the oldest page of a known user: the counters keep its hour (a few rows per
    -- hour).
    v_oldest timestamptz := (SELECT min(h.hour) FROM recs.online_hourly h);
    v_updated bigint;
BEGIN
    IF v_oldest IS NULL THEN
        RETURN 0;
    END IF;
    WITH touched AS (
        SELECT last_touch.recommendation_id, array_position(last_touch.items, i.present_id) AS position,
               i.present_id, e.created_at, e.is_like
        FROM sync_events e
        JOIN recs.items i ON i.item_id = e.item_id
        CROSS JOIN LATERAL (
            SELECT latest.recommendation_id, latest.items
            FROM (
                SELECT p.recommendation_id, p.served_at, p.items
                FROM recs.served_pages p
                WHERE p.user_id = e.user_id
                  AND p.served_at <= e.created_at AND p.served_at > e.created_at - v_window
                ORDER BY p.served_at DESC, p.recommendation_id DESC
                LIMIT v_pages
            ) latest
            WHERE i.present_id = ANY (latest.items)
            ORDER BY latest.served_at DESC, latest.recommendation_id DESC
            LIMIT 1
        ) last_touch
        WHERE e.created_at >= v_oldest AND e.user_id IS NOT NULL
    ), firsts AS (
        SELECT t.recommendation_id, t.position, t.present_id,
               min(t.created_at) FILTER (WHERE NOT t.is_like) AS clicked_at,
               min(t.created_at) FILTER (WHERE t.is_like) AS liked_at
        FROM touched t
        GROUP BY t.recommendation_id, t.position, t.present_id
    ), still_there AS (  -- see the header: pages an erasure deleted meanwhile drop out here
        SELECT p.recommendation_id, p.served_at, p.route, p.algorithm, p.experiment, p.variant
        FROM recs.served_pages p
        WHERE p.recommendation_id IN (SELECT f.recommendation_id FROM firsts f)
        FOR KEY SHARE
    ), changes AS (
        SELECT f.recommendation_id, f.position, f.present_id, p.served_at, p.route, p.algorithm, p.experiment,
               p.variant, least(a.clicked_at, f.clicked_at) AS clicked_at, least(a.liked_at, f.liked_at) AS liked_at,
               (a.clicked_at IS NULL AND f.clicked_at IS NOT NULL)::int AS new_click,
               (a.liked_at IS NULL AND f.liked_at IS NOT NULL)::int AS new_like
        FROM firsts f
        JOIN still_there p ON p.recommendation_id = f.recommendation_id
        LEFT JOIN recs.served_attributions a ON a.recommendation_id = f.recommendation_id AND a.position = f.position
        WHERE a.recommendation_id IS NULL
           OR a.clicked_at IS DISTINCT FROM least(a.clicked_at, f.clicked_at)
           OR a.liked_at IS DISTINCT FROM least(a.liked_at, f.liked_at)
    ), credited AS (
        INSERT INTO recs.served_attributions AS a (recommendation_id, position, present_id, clicked_at, liked_at)
        SELECT c.recommendation_id, c.position, c.present_id, c.clicked_at, c.liked_at
        FROM changes c
        ON CONFLICT (recommendation_id, position) DO UPDATE
        SET clicked_at = excluded.clicked_at, liked_at = excluded.liked_at
        RETURNING 1
    ), counted AS (
        INSERT INTO recs.online_hourly AS h (hour, route, algorithm, experiment, variant, clicks, likes)
        SELECT date_trunc('hour', c.served_at, 'UTC'), c.route, c.algorithm, c.experiment, c.variant,
               sum(c.new_click), sum(c.new_like)
        FROM changes c
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
    'Sync step: last-touch attribution of clicks and likes (temp table sync_events) to the latest page of that user showing that present within online_attribution_hours (recs.served_attributions).';
