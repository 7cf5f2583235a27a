-- recs.sync_pairs: step 4a of recs.sync_main. Gives every new user of sync_events a key in
-- recs.users and sums the events per (user, present) into the temp table sync_pairs, shaped as
-- recs.interactions rows: first like time, clicks, decayed click sum (recs.decay_weight against
-- p_epoch), first and last event time. Grouped by sorting, not hashing: almost every pair holds
-- one event, so a hash table as large as the input spills to disk on a full read (4.4M events at
-- the target scale: 19.5 s hashed against 12.9 s sorted). An event stamped after the sync's clock
-- (a wrong clock in main) counts as an event of that clock: a like a year ahead would otherwise
-- weigh 2^(365 / half-life days) likes of today in every decayed sum until its time came.
-- Arguments: p_epoch, p_half_life_days. Result: none (the temp table).
-- Errors: none. Caller: recs.sync_main, after recs.sync_decay_epoch.
CREATE OR REPLACE FUNCTION recs.sync_pairs(p_epoch timestamptz, p_half_life_days double precision) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_hashagg text := current_setting('enable_hashagg');
    v_clock timestamptz := recs.sync_clock();
BEGIN
    INSERT INTO recs.users (user_id)
    SELECT DISTINCT e.user_id FROM sync_events e
    WHERE NOT EXISTS (SELECT 1 FROM recs.users u WHERE u.user_id = e.user_id)
    ON CONFLICT (user_id) DO NOTHING;

    PERFORM set_config('enable_hashagg', 'off', true);  -- this statement only: see above
    CREATE TEMP TABLE sync_pairs ON COMMIT DROP AS
    SELECT u.user_key, e.item_id,
           min(e.at) FILTER (WHERE e.is_like) AS liked_at,
           (count(*) FILTER (WHERE NOT e.is_like))::integer AS clicks,
           coalesce(sum(recs.decay_weight(e.at, p_epoch, p_half_life_days)) FILTER (WHERE NOT e.is_like), 0)
               AS click_decay,
           min(e.at) AS first_at, max(e.at) AS last_at
    FROM (SELECT s.user_id, s.item_id, s.is_like, least(s.created_at, v_clock) AS at FROM sync_events s) e
    JOIN recs.users u ON u.user_id = e.user_id
    GROUP BY u.user_key, e.item_id;
    PERFORM set_config('enable_hashagg', v_hashagg, true);
END;
$$;
COMMENT ON FUNCTION recs.sync_pairs(timestamptz, double precision) IS
    'Sync step 4a: keys for new users, and the events summed per (user, present) into temp table sync_pairs.';
