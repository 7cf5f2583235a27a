-- recs.sync_read_events: step 2 of recs.sync_main. Reads the likes and clicks on public presents
-- into the temp table sync_events (is_like, id, user_id, item_id, created_at): every event on a
-- full resync, else those newer than each table's watermark minus sync_overlap_minutes (late
-- commits), clicks already counted (recs.recent_click_ids) left out. Events on presents that are
-- not public never match recs.items and are dropped. Only a click's id is read, and only where
-- it can be used: the clicks inside the overlap window, which recs.sync_watermarks keeps in
-- recs.recent_click_ids (on a full resync, those newer than main's newest click minus the window;
-- a like's id is never used). Main's newest click may be on a present that is not public, newer
-- than the newest click read: the window then starts earlier than that bound, and the clicks read
-- without their ids inside it are read again with them (one more remote query, in the same
-- remote snapshot), so every click the window keeps has its id. A uuid parsed from main's text is a large share of the CPU of
-- reading an event: on a full resync at the target scale (4.4M events), 8.8-9.0 s of CPU against
-- 11.1-13.7 s with every id.
-- An incremental read also reads the older events of the presents that entered recs.items in
-- this sync (temp table sync_entered, from recs.sync_presents).
-- Events without a user (a guest's click, where main's user_id is nullable) are left out: they
-- belong to nobody here, and recs.users keys a user by a uuid.
-- Arguments: p_full (a full resync: recs.recent_click_ids is emptied, everything read).
-- Result: none (the temp table). Errors: FDW errors when main is unreachable.
-- Caller: recs.sync_main.
CREATE OR REPLACE FUNCTION recs.sync_read_events(p_full boolean) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_overlap interval := make_interval(mins => recs.setting('sync_overlap_minutes')::int);
    v_likes_from timestamptz := '-infinity';
    v_clicks_from timestamptz := '-infinity';
    v_ids_from timestamptz := '-infinity';  -- clicks after it are read with their ids
    v_window_from timestamptz;  -- a full resync: the newest click read minus the window
    -- The watermarks never pass the sync's clock (recs.sync_watermarks): neither do these bounds,
    -- or a click stamped ahead of it would leave the clicks of the window it keeps without ids.
    v_clock timestamptz := recs.sync_clock();
    v_entered uuid[];  -- presents new to recs.items in this sync
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

    IF p_full THEN  -- an aggregate main answers from its index on created_at
        v_ids_from := coalesce(least((SELECT max(c.created_at) FROM main.handpicked_present_clicks c), v_clock)
                               - v_overlap, '-infinity');
    END IF;

    CREATE TEMP TABLE sync_events ON COMMIT DROP AS
    SELECT true AS is_like, NULL::uuid AS id, l.user_id, i.item_id, l.created_at
    FROM main.handpicked_likes l
    JOIN recs.items i ON i.present_id = l.handpicked_present_id
    WHERE l.created_at > v_likes_from AND l.user_id IS NOT NULL
    UNION ALL
    SELECT false, NULL, c.user_id, i.item_id, c.created_at
    FROM main.handpicked_present_clicks c
    JOIN recs.items i ON i.present_id = c.handpicked_present_id
    WHERE c.created_at > v_clicks_from AND c.created_at <= v_ids_from AND c.user_id IS NOT NULL
    UNION ALL
    SELECT false, c.id, c.user_id, i.item_id, c.created_at
    FROM main.handpicked_present_clicks c
    JOIN recs.items i ON i.present_id = c.handpicked_present_id
    WHERE c.created_at > greatest(v_clicks_from, v_ids_from) AND c.user_id IS NOT NULL;

    IF p_full THEN  -- the window recs.sync_watermarks keeps starts here or later
        v_window_from := least((SELECT max(e.created_at) FROM sync_events e WHERE NOT e.is_like), v_clock)
                         - v_overlap;
        IF v_window_from < v_ids_from THEN
            DELETE FROM sync_events e WHERE NOT e.is_like AND e.id IS NULL AND e.created_at > v_window_from;
            INSERT INTO sync_events (is_like, id, user_id, item_id, created_at)
            SELECT false, c.id, c.user_id, i.item_id, c.created_at
            FROM main.handpicked_present_clicks c
            JOIN recs.items i ON i.present_id = c.handpicked_present_id
            WHERE c.created_at > v_window_from AND c.created_at <= v_ids_from AND c.user_id IS NOT NULL;
        END IF;
    ELSE
        -- Clicks counted already, but those of presents that entered recs.items in this sync: one
        -- back after a while private had its interactions removed with it, so its clicks the
        -- window keeps ids of count again (one public for the first time has none kept).
        DELETE FROM sync_events e USING recs.recent_click_ids r
        WHERE NOT e.is_like AND r.id = e.id
          AND NOT EXISTS (SELECT 1 FROM sync_entered n WHERE n.item_id = e.item_id);
        -- Presents that entered recs.items in this sync (recs.sync_presents): their events older
        -- than the window too, by main's index on the present (for a new present, two probes that
        -- find nothing, unless its events were imported with older times).
        v_entered := ARRAY(SELECT e.present_id FROM sync_entered e);
        IF cardinality(v_entered) > 0 THEN
            INSERT INTO sync_events (is_like, id, user_id, item_id, created_at)
            SELECT true, NULL::uuid, l.user_id, i.item_id, l.created_at
            FROM main.handpicked_likes l
            JOIN recs.items i ON i.present_id = l.handpicked_present_id
            WHERE l.handpicked_present_id = ANY (v_entered) AND l.created_at <= v_likes_from AND l.user_id IS NOT NULL
            UNION ALL
            SELECT false, NULL::uuid, c.user_id, i.item_id, c.created_at
            FROM main.handpicked_present_clicks c
            JOIN recs.items i ON i.present_id = c.handpicked_present_id
            WHERE c.handpicked_present_id = ANY (v_entered) AND c.created_at <= v_clicks_from AND c.user_id IS NOT NULL;
        END IF;
    END IF;
    PERFORM recs.job_step('sync.events_read');
END;
$$;
COMMENT ON FUNCTION recs.sync_read_events(boolean) IS
    'Sync step 2: the likes and clicks to apply (all, or newer than the watermarks minus the overlap, and the older ones of presents that entered recs.items) into temp table sync_events.';
