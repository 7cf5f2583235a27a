-- recs.sync_main: brings the local snapshots up to date with the main database through the FDW.
--   1. recs.items: every public present (user_id IS NULL), attributes upserted where changed;
--      a present that became private or was deleted leaves, with its interactions.
--   2. recs.interactions: likes and clicks newer than each table's watermark minus the overlap
--      window (late commits), clicks deduplicated by id; events on non-public presents dropped.
--   A full resync (everything re-read, then only differences written; unlikes and deleted
--   events disappear) happens on the first run, every full_resync_hours, when the half-life
--   setting changed, or when sync_state rows were deleted (DELETE FROM recs.sync_state forces one). The decay epoch is rebased (stored sums
--   multiplied, no re-read) when new events drift more than 400 half-lives away from it.
--   Users whose interactions changed are stamped in recs.dirty_users for the similarity job.
--   3. recs.source_totals: main's totals of public and private presents, likes and clicks
--      (at a full sync, or when the last count is an hour old).
-- Arguments: none. Result: rows changed (items + interaction rows written).
-- Errors: FDW errors when main is unreachable (the caller's job run then fails and logs it).
-- Caller: recs.job_refresh_popular_items (and later jobs); runs as the owner (its user mapping).
CREATE OR REPLACE FUNCTION recs.sync_main() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_half_life_days double precision := recs.setting('popularity_half_life_days')::double precision;
    v_overlap interval := make_interval(mins => recs.setting('sync_overlap_minutes')::int);
    v_decay recs.sync_state;
    v_full boolean;
    v_likes_from timestamptz;
    v_clicks_from timestamptz;
    v_newest timestamptz;
    v_epoch timestamptz;
    v_changed bigint := 0;
    v_rows bigint;
    v_index_definitions text[];
BEGIN
    IF v_half_life_days IS NULL OR v_half_life_days <= 0 THEN
        RAISE EXCEPTION 'popularity_half_life_days must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- 1. Public presents.
    CREATE TEMP TABLE sync_presents ON COMMIT DROP AS
    SELECT p.id, p.price, p.category, p.platform, p.geo_ids, p.available, p.created_at, p.updated_at
    FROM main.handpicked_presents p
    WHERE p.user_id IS NULL;
    CREATE UNIQUE INDEX ON sync_presents (id);
    ANALYZE sync_presents;
    PERFORM recs.job_step('sync.presents_read');

    CREATE TEMP TABLE sync_gone ON COMMIT DROP AS
    SELECT i.item_id FROM recs.items i WHERE NOT EXISTS (SELECT 1 FROM sync_presents s WHERE s.id = i.present_id);
    WITH removed AS (
        DELETE FROM recs.interactions x USING sync_gone g WHERE x.item_id = g.item_id RETURNING x.user_key
    )
    INSERT INTO recs.dirty_users (user_key, changed_at)
    SELECT DISTINCT user_key, now() FROM removed
    ON CONFLICT (user_key) DO UPDATE SET changed_at = excluded.changed_at;
    DELETE FROM recs.items i USING sync_gone g WHERE i.item_id = g.item_id;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    v_changed := v_changed + v_rows;

    INSERT INTO recs.items AS i (present_id, price, category, platform, geo_ids, available, created_at, updated_at)
    SELECT s.id, s.price, s.category, s.platform, s.geo_ids, s.available, s.created_at, s.updated_at
    FROM sync_presents s
    ON CONFLICT (present_id) DO UPDATE
        SET price = excluded.price, category = excluded.category, platform = excluded.platform,
            geo_ids = excluded.geo_ids, available = excluded.available, updated_at = excluded.updated_at
        WHERE (i.price, i.category, i.platform, i.geo_ids, i.available)
              IS DISTINCT FROM (excluded.price, excluded.category, excluded.platform, excluded.geo_ids,
                                excluded.available);
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    v_changed := v_changed + v_rows;
    PERFORM recs.job_step('sync.presents_written');

    -- 2. Which events to read.
    SELECT * INTO v_decay FROM recs.sync_state WHERE source = 'decay' FOR UPDATE;
    v_full := v_decay IS NULL OR v_decay.half_life_days IS DISTINCT FROM v_half_life_days
              OR v_decay.full_synced_at IS NULL
              OR v_decay.full_synced_at < now() - make_interval(hours => recs.setting('full_resync_hours')::int)
              OR NOT EXISTS (SELECT 1 FROM recs.sync_state WHERE source = 'handpicked_likes')
              OR NOT EXISTS (SELECT 1 FROM recs.sync_state WHERE source = 'handpicked_present_clicks');
    IF v_full THEN
        TRUNCATE recs.recent_click_ids;
        v_likes_from := '-infinity';
        v_clicks_from := '-infinity';
    ELSE
        SELECT watermark - v_overlap INTO v_likes_from FROM recs.sync_state WHERE source = 'handpicked_likes';
        SELECT watermark - v_overlap INTO v_clicks_from FROM recs.sync_state WHERE source = 'handpicked_present_clicks';
        v_likes_from := coalesce(v_likes_from, '-infinity');
        v_clicks_from := coalesce(v_clicks_from, '-infinity');
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

    IF NOT v_full THEN
        DELETE FROM sync_events e USING recs.recent_click_ids r WHERE NOT e.is_like AND r.id = e.id;
    END IF;
    PERFORM recs.job_step('sync.events_read');

    -- 3. The decay epoch: set on a full sync, rebased when events drift too far from it.
    SELECT max(created_at) INTO v_newest FROM sync_events;
    IF v_full THEN
        v_epoch := date_trunc('day', coalesce(v_newest, now()));
    ELSE
        v_epoch := v_decay.decay_epoch;
        IF v_newest IS NOT NULL
           AND abs(date_part('epoch', v_newest - v_epoch)) / (v_half_life_days * 86400) > 400 THEN
            v_epoch := date_trunc('day', v_newest);
            UPDATE recs.interactions
            SET click_decay = click_decay * power(2::double precision, greatest(-1000, least(1000,
                    date_part('epoch', v_decay.decay_epoch - v_epoch) / (v_half_life_days * 86400))));
        END IF;
    END IF;
    INSERT INTO recs.sync_state AS s (source, decay_epoch, half_life_days, synced_at, full_synced_at)
    VALUES ('decay', v_epoch, v_half_life_days, now(), CASE WHEN v_full THEN now() END)
    ON CONFLICT (source) DO UPDATE
        SET decay_epoch = excluded.decay_epoch, half_life_days = excluded.half_life_days, synced_at = now(),
            full_synced_at = coalesce(excluded.full_synced_at, s.full_synced_at);

    -- 4. Users and interactions.
    INSERT INTO recs.users (user_id)
    SELECT DISTINCT e.user_id FROM sync_events e
    WHERE NOT EXISTS (SELECT 1 FROM recs.users u WHERE u.user_id = e.user_id)
    ON CONFLICT (user_id) DO NOTHING;

    CREATE TEMP TABLE sync_changed_users (user_key integer) ON COMMIT DROP;
    CREATE TEMP TABLE sync_pairs ON COMMIT DROP AS
    SELECT u.user_key, e.item_id,
           min(e.created_at) FILTER (WHERE e.is_like) AS liked_at,
           (count(*) FILTER (WHERE NOT e.is_like))::integer AS clicks,
           coalesce(sum(power(2::double precision, greatest(-1000, least(1000,
               date_part('epoch', e.created_at - v_epoch) / (v_half_life_days * 86400)))))
               FILTER (WHERE NOT e.is_like), 0) AS click_decay,
           min(e.created_at) AS first_at, max(e.created_at) AS last_at
    FROM sync_events e
    JOIN recs.users u ON u.user_id = e.user_id
    GROUP BY u.user_key, e.item_id;

    IF v_full AND NOT EXISTS (SELECT 1 FROM recs.interactions) THEN
        -- First load: a plain insert in key order (millions of rows; no conflicts possible), with
        -- the secondary indexes built once afterwards rather than maintained row by row. No user
        -- is marked dirty: with nothing computed yet, the jobs build everything.
        v_index_definitions := recs.drop_secondary_indexes('recs.interactions');
        INSERT INTO recs.interactions (user_key, item_id, liked_at, clicks, click_decay, first_at, last_at)
        SELECT * FROM sync_pairs ORDER BY user_key, item_id;
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        PERFORM recs.create_indexes(v_index_definitions);
    ELSIF v_full THEN
        -- Full resync of a live table: replace what differs, drop what main no longer has.
        WITH removed AS (
            DELETE FROM recs.interactions x
            WHERE NOT EXISTS (SELECT 1 FROM sync_pairs p WHERE p.user_key = x.user_key AND p.item_id = x.item_id)
            RETURNING x.user_key
        ),
        replaced AS (
            INSERT INTO recs.interactions AS x (user_key, item_id, liked_at, clicks, click_decay, first_at, last_at)
            SELECT * FROM sync_pairs
            ON CONFLICT (user_key, item_id) DO UPDATE
                SET liked_at = excluded.liked_at, clicks = excluded.clicks, click_decay = excluded.click_decay,
                    first_at = excluded.first_at, last_at = excluded.last_at
                WHERE (x.liked_at, x.clicks, x.click_decay, x.first_at, x.last_at)
                      IS DISTINCT FROM (excluded.liked_at, excluded.clicks, excluded.click_decay,
                                        excluded.first_at, excluded.last_at)
            RETURNING x.user_key
        )
        INSERT INTO sync_changed_users SELECT user_key FROM removed UNION ALL SELECT user_key FROM replaced;
        GET DIAGNOSTICS v_rows = ROW_COUNT;
    ELSE
        -- Incremental: add the new events to what is stored.
        WITH added AS (
            INSERT INTO recs.interactions AS x (user_key, item_id, liked_at, clicks, click_decay, first_at, last_at)
            SELECT * FROM sync_pairs
            ON CONFLICT (user_key, item_id) DO UPDATE
                SET liked_at = coalesce(x.liked_at, excluded.liked_at),
                    clicks = x.clicks + excluded.clicks,
                    click_decay = x.click_decay + excluded.click_decay,
                    first_at = least(x.first_at, excluded.first_at),
                    last_at = greatest(x.last_at, excluded.last_at)
                WHERE excluded.clicks > 0 OR x.liked_at IS NULL
            RETURNING x.user_key
        )
        INSERT INTO sync_changed_users SELECT user_key FROM added;
        GET DIAGNOSTICS v_rows = ROW_COUNT;
    END IF;
    v_changed := v_changed + v_rows;
    PERFORM recs.job_step('sync.interactions_written');
    IF v_full THEN
        -- The planner must know the new table before the jobs join it millions of times.
        ANALYZE recs.items, recs.users, recs.interactions;
        PERFORM recs.job_step('sync.analyze');
    END IF;
    INSERT INTO recs.dirty_users AS d (user_key, changed_at)
    SELECT DISTINCT user_key, now() FROM sync_changed_users
    ON CONFLICT (user_key) DO UPDATE SET changed_at = excluded.changed_at;

    -- 5. Watermarks, and the click ids still inside the overlap window.
    INSERT INTO recs.sync_state AS s (source, watermark, synced_at)
    SELECT t.source, t.newest, now()
    FROM (SELECT 'handpicked_likes' AS source, max(created_at) FILTER (WHERE is_like) AS newest FROM sync_events
          UNION ALL
          SELECT 'handpicked_present_clicks', max(created_at) FILTER (WHERE NOT is_like) FROM sync_events) t
    ON CONFLICT (source) DO UPDATE
        SET watermark = greatest(s.watermark, excluded.watermark), synced_at = now();
    INSERT INTO recs.recent_click_ids (id, created_at)
    SELECT e.id, e.created_at FROM sync_events e
    WHERE NOT e.is_like
      AND e.created_at > (SELECT watermark FROM recs.sync_state WHERE source = 'handpicked_present_clicks') - v_overlap
    ON CONFLICT (id) DO NOTHING;
    DELETE FROM recs.recent_click_ids
    WHERE created_at <= (SELECT watermark FROM recs.sync_state WHERE source = 'handpicked_present_clicks') - v_overlap;

    IF v_changed > 0 THEN
        UPDATE recs.sync_state SET changed_at = now() WHERE source = 'decay';
    END IF;

    -- 6. Main's totals for GET /stats: counted here (aggregates run on main's side) so that no
    --    request ever counts over the FDW; at a full sync or when an hour old, to spare main.
    IF v_full OR coalesce((SELECT min(counted_at) FROM recs.source_totals), '-infinity') < now() - interval '1 hour'
       OR (SELECT count(*) FROM recs.source_totals) < 4 THEN
        INSERT INTO recs.source_totals AS t (name, total, counted_at)
        VALUES ('public_presents', (SELECT count(*) FROM sync_presents), now()),
               ('private_presents', (SELECT count(*) FROM main.handpicked_presents WHERE user_id IS NOT NULL), now()),
               ('likes', (SELECT count(*) FROM main.handpicked_likes), now()),
               ('clicks', (SELECT count(*) FROM main.handpicked_present_clicks), now())
        ON CONFLICT (name) DO UPDATE SET total = excluded.total, counted_at = excluded.counted_at;
    END IF;
    PERFORM recs.job_step('sync.totals_counted');
    DROP TABLE sync_presents, sync_gone, sync_events, sync_pairs, sync_changed_users;
    RETURN v_changed;
END;
$$;
COMMENT ON FUNCTION recs.sync_main() IS
    'Incremental sync of public presents and their likes/clicks from main (FDW) into recs.items / recs.interactions. Returns rows changed.';
