-- recs.job_refresh_popular_items: sync from main, then bring the popularity tables
-- (recs.popular_items, recs.popular_segments, recs.popular_filter_counts,
-- recs.popular_region_counts) up to date: incrementally from what changed since the last run
-- (recs.popular_apply_changes), or whole (recs.popular_rebuild) on the first run, after a full
-- resync of the interactions (daily, full_resync_hours) and when the decay epoch, the half-life,
-- like_weight or popular_click_weight differ from those the tables were computed with (recorded in
-- recs.sync_state row 'popular_items'; deleting it forces a rebuild); then, either way, each
-- segment's ranking, the global score times the present's lifts in the segment's gender and age
-- group (recs.popular_write_blended). Bumps the
-- 'popular' data version when a row changed. Also counts the users with demographics for GET /stats
-- (recs.sync_state details users_with_demographics: one index-only count per run, so /stats never
-- counts them per call). One transaction: a failed run leaves the previous rows.
-- Arguments: none. Result: rows in recs.popular_items after the refresh.
-- Errors: main unreachable, bad settings (the run is logged with the error; old data stays).
-- Caller: recs.run_job('refresh_popular_items') from pg_cron (job "refresh-popular-items",
--   every POPULAR_ITEMS_REFRESH_MINUTES), psql, POST /admin/refresh-popular-items.
CREATE OR REPLACE FUNCTION recs.job_refresh_popular_items() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_decay recs.sync_state;
    v_state recs.sync_state;
    v_params jsonb;
    v_like_weight double precision;
    v_click_weight double precision;
    v_full boolean;
    v_written bigint;
    v_rows bigint;
BEGIN
    PERFORM recs.set_job_limits();
    -- Erasures write the same tables: they wait for this run, and it for them (recs.erase_users).
    -- Taken before the sync, which locks the rows of the users with new events and writes new
    -- ones: taken after it, an erasure of such a user could start in between (and then wait for
    -- those rows while this run waited for it: a deadlock), or delete the user while the sync's
    -- new rows of theirs were still uncommitted (which the sync then committed, kept until the
    -- next full resync).
    PERFORM pg_advisory_xact_lock(recs.job_lock_key('derived_rows'));
    PERFORM recs.sync_main();
    v_like_weight := recs.setting('like_weight')::double precision;
    v_click_weight := recs.setting('popular_click_weight')::double precision;
    SELECT * INTO v_decay FROM recs.sync_state WHERE source = 'decay';
    v_params := jsonb_build_object('decay_epoch', date_part('epoch', v_decay.decay_epoch),
                                   'half_life_days', v_decay.half_life_days,
                                   'like_weight', v_like_weight, 'popular_click_weight', v_click_weight);
    SELECT * INTO v_state FROM recs.sync_state WHERE source = 'popular_items';
    v_full := NOT FOUND OR v_state.full_synced_at IS NULL OR v_state.details -> 'computed_with' IS DISTINCT FROM v_params
              OR v_decay.full_synced_at > v_state.full_synced_at;
    IF v_full THEN
        v_written := recs.popular_rebuild(v_decay.decay_epoch, v_decay.half_life_days, v_like_weight, v_click_weight);
    ELSE
        v_written := recs.popular_apply_changes(v_decay.decay_epoch, v_decay.half_life_days, v_like_weight,
                                                v_click_weight);
    END IF;
    v_written := v_written + recs.popular_write_blended();
    INSERT INTO recs.sync_state AS s (source, synced_at, full_synced_at, details)
    VALUES ('popular_items', now(), CASE WHEN v_full THEN now() END,
            jsonb_build_object('computed_with', v_params, 'full', v_full, 'rows_written', v_written,
                               'users_with_demographics', (SELECT count(*) FROM recs.user_demographics)))
    ON CONFLICT (source) DO UPDATE
        SET synced_at = excluded.synced_at, full_synced_at = coalesce(excluded.full_synced_at, s.full_synced_at),
            details = excluded.details;
    IF v_written > 0 THEN
        PERFORM recs.bump_data_version('popular');
    END IF;
    SELECT count(*) INTO v_rows FROM recs.popular_items;
    RETURN v_rows;
END;
$$;
COMMENT ON FUNCTION recs.job_refresh_popular_items() IS
    'Sync from main, then update recs.popular_items and its companions from what changed (whole after a full resync). CALL recs.run_job(''refresh_popular_items'');';
