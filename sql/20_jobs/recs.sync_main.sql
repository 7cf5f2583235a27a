-- recs.sync_main: brings the local snapshots up to date with the main database through the FDW,
-- in named steps:
--   1. recs.sync_presents: every public present into recs.items (a private one never enters);
--   2. recs.sync_read_events: the likes and clicks to apply, all of them on a full resync
--      (recs.sync_is_full), else those newer than the watermarks minus the overlap window and
--      the older ones of presents that entered recs.items in step 1;
--      recs.sync_attribute_served credits them to the served presents they follow;
--   3. recs.sync_decay_epoch: the epoch of the decayed sums (set, kept, or rebased);
--   4. recs.sync_pairs, then one writer of recs.interactions: recs.sync_load_interactions (first
--      load), recs.sync_replace_interactions (full resync: unlikes and deleted events disappear)
--      or recs.sync_add_interactions (incremental, which also logs what the new events add to
--      popularity in recs.popular_changes); users whose interactions changed are stamped in
--      recs.dirty_users for the similarity job and in recs.dirty_profiles for the profile job;
--   5. recs.sync_watermarks; 6. recs.sync_source_totals (main's totals for GET /stats).
-- When anything changed, the 'synced' data version is bumped (cache keys of /personalized and
-- of the profile copies), visible with the data at the job's commit.
-- Syncs run one after the other: a sync holds a lock until its job commits (two jobs started
-- together: the second waits for the whole first job, then reads the state it committed), and
-- keeps recs.sync_state's 'decay' row locked, so a DBA's DELETE FROM recs.sync_state waits for it.
-- Arguments: none. Result: rows changed (items + interaction rows written).
-- Errors: 22023 for a non-positive popularity_half_life_days; FDW errors when main is unreachable
--   (the caller's job run then fails and logs it).
-- Time zone: UTC while it runs, whatever the session's (pg_cron's sessions take the cluster's).
--   Rails' datetime columns are timestamp without time zone, holding UTC: postgres_fdw reads
--   their values in the local session's zone, and sends a bound on them as a literal main reads
--   as a timestamp, dropping its offset; in another zone the syncs would shift every time and
--   skip (east of UTC) or count twice (west) the events of the hours in between.
-- Caller: every refresh job, first; runs as the owner (its user mapping).
CREATE OR REPLACE FUNCTION recs.sync_main() RETURNS bigint
LANGUAGE plpgsql
SET timezone = 'UTC' AS $$
DECLARE
    v_half_life_days double precision;
    v_full boolean;
    v_epoch timestamptz;
    v_changed bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(recs.sync_lock_key());
    PERFORM 1 FROM recs.sync_state WHERE source = 'decay' FOR UPDATE;
    PERFORM recs.job_step('sync.lock_waited');  -- behind another job's sync: not a read of main
    -- The sync's clock, read after the lock: no watermark passes it (recs.sync_clock).
    PERFORM set_config('recs.sync_clock', clock_timestamp()::text, true);
    v_half_life_days := recs.setting('popularity_half_life_days')::double precision;
    IF v_half_life_days IS NULL OR v_half_life_days <= 0 THEN
        RAISE EXCEPTION 'popularity_half_life_days must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    v_changed := recs.sync_presents();
    v_full := recs.sync_is_full(v_half_life_days);
    PERFORM recs.sync_read_events(v_full);
    PERFORM recs.sync_attribute_served();
    v_epoch := recs.sync_decay_epoch(v_full, v_half_life_days);

    PERFORM recs.sync_pairs(v_epoch, v_half_life_days);
    CREATE TEMP TABLE sync_changed_users (user_key integer) ON COMMIT DROP;
    IF v_full AND NOT EXISTS (SELECT 1 FROM recs.interactions) THEN
        v_changed := v_changed + recs.sync_load_interactions();
    ELSIF v_full THEN
        v_changed := v_changed + recs.sync_replace_interactions();
    ELSE
        v_changed := v_changed + recs.sync_add_interactions();
    END IF;
    PERFORM recs.job_step('sync.interactions_written');
    IF v_full THEN
        -- The planner must know the new table before the jobs join it millions of times.
        ANALYZE recs.items, recs.users, recs.interactions;
        PERFORM recs.job_step('sync.analyze');
    END IF;
    INSERT INTO recs.dirty_users AS d (user_key, changed_at)
    SELECT DISTINCT user_key, now() FROM sync_changed_users
    ON CONFLICT (user_key) DO UPDATE SET changed_at = excluded.changed_at;
    INSERT INTO recs.dirty_profiles AS d (user_key, changed_at)
    SELECT DISTINCT user_key, now() FROM sync_changed_users
    ON CONFLICT (user_key) DO UPDATE SET changed_at = excluded.changed_at;

    PERFORM recs.sync_watermarks();
    IF v_changed > 0 THEN
        UPDATE recs.sync_state SET changed_at = now() WHERE source = 'decay';
        PERFORM recs.bump_data_version('synced');  -- pages and profiles read these tables directly
    END IF;
    PERFORM recs.sync_source_totals(v_full);
    DROP TABLE sync_presents, sync_entered, sync_events, sync_pairs, sync_changed_users;
    RETURN v_changed;
END;
$$;
COMMENT ON FUNCTION recs.sync_main() IS
    'Sync public presents and their likes/clicks from main (FDW) into recs.items / recs.interactions, in named steps. Returns rows changed.';
