-- recs.job_refresh_user_profiles: sync from main, then bring recs.user_profiles up to date:
-- the users recs.dirty_profiles marks (their interactions or their presents' price, category or
-- platform changed) are recomputed (recs.user_profile_rows), their old rows replaced; everyone
-- on the first run, after a full resync of the interactions (daily, full_resync_hours) and when
-- like_weight, click_weight or similarity_click_cap differ from those the profiles were computed
-- with (recorded in recs.sync_state row 'user_profiles'; deleting it forces a rebuild), when only
-- the rows that differ are written. Bumps the 'profiles' data version when a row changed. One
-- transaction: a failed run leaves the previous profiles.
-- Arguments: none. Result: rows in recs.user_profiles.
-- Errors: main unreachable, bad settings (logged by recs.run_job; the old profiles stay).
-- Caller: recs.run_job('refresh_user_profiles') from pg_cron (job "refresh-user-profiles", every
--   30 minutes), psql, POST /admin/update-user-profiles.
CREATE OR REPLACE FUNCTION recs.job_refresh_user_profiles() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_decay recs.sync_state;
    v_state recs.sync_state;
    v_params jsonb;
    v_full boolean;
    v_users integer[];
    v_written bigint := 0;
    v_rows bigint;
BEGIN
    PERFORM recs.set_job_limits();
    -- Erasures delete profiles: they wait for this run, and it for them (recs.erase_users); taken
    -- before the sync, as the popularity job does (recs.job_refresh_popular_items says why).
    PERFORM pg_advisory_xact_lock(recs.job_lock_key('derived_rows'));
    PERFORM recs.sync_main();
    SELECT * INTO v_decay FROM recs.sync_state WHERE source = 'decay';
    v_params := jsonb_build_object('like_weight', recs.setting('like_weight')::double precision,
                                   'click_weight', recs.setting('click_weight')::double precision,
                                   'similarity_click_cap', recs.setting('similarity_click_cap')::integer);
    SELECT * INTO v_state FROM recs.sync_state WHERE source = 'user_profiles';
    v_full := NOT FOUND OR v_state.full_synced_at IS NULL
              OR v_state.details -> 'computed_with' IS DISTINCT FROM v_params
              OR v_decay.full_synced_at > v_state.full_synced_at;

    IF v_full THEN
        TRUNCATE recs.dirty_profiles;  -- only syncs and erasures write it, and both wait for this job
        CREATE TEMP TABLE profiles_computed ON COMMIT DROP AS SELECT * FROM recs.user_profile_rows(NULL);
        PERFORM recs.job_step('profiles.computed');
        IF NOT EXISTS (SELECT 1 FROM recs.user_profiles) THEN
            INSERT INTO recs.user_profiles SELECT * FROM profiles_computed ORDER BY user_key;
            GET DIAGNOSTICS v_written = ROW_COUNT;
        ELSE
            v_written := recs.user_profiles_write(NULL);
        END IF;
    ELSE
        WITH taken AS (DELETE FROM recs.dirty_profiles d RETURNING d.user_key)
        SELECT array_agg(t.user_key) INTO v_users FROM taken t;
        CREATE TEMP TABLE profiles_computed ON COMMIT DROP AS SELECT * FROM recs.user_profile_rows(coalesce(v_users, '{}'));
        PERFORM recs.job_step('profiles.computed');
        v_written := recs.user_profiles_write(coalesce(v_users, '{}'));
    END IF;
    DROP TABLE profiles_computed;
    PERFORM recs.job_step('profiles.written');
    IF v_full THEN
        -- Fresh statistics: the planner sees the new contents, and GET /stats its row count.
        ANALYZE recs.user_profiles;
        PERFORM recs.job_step('profiles.analyze');
    END IF;

    INSERT INTO recs.sync_state AS s (source, synced_at, full_synced_at, details)
    VALUES ('user_profiles', now(), CASE WHEN v_full THEN now() END,
            jsonb_build_object('computed_with', v_params, 'full', v_full, 'rows_written', v_written))
    ON CONFLICT (source) DO UPDATE
        SET synced_at = excluded.synced_at, full_synced_at = coalesce(excluded.full_synced_at, s.full_synced_at),
            details = excluded.details;
    IF v_written > 0 THEN
        PERFORM recs.bump_data_version('profiles');
    END IF;
    SELECT count(*) INTO v_rows FROM recs.user_profiles;
    RETURN v_rows;
END;
$$;
COMMENT ON FUNCTION recs.job_refresh_user_profiles() IS
    'Sync, then recompute the profiles of the users recs.dirty_profiles marks (all after a full resync). CALL recs.run_job(''refresh_user_profiles'');';
