-- recs.job_refresh_user_profiles: sync from main, then refresh recs.user_profiles CONCURRENTLY.
-- Arguments: none. Result: rows in recs.user_profiles.
-- Errors: main unreachable, bad settings (logged by recs.run_job; the old profiles stay).
-- Caller: recs.run_job('refresh_user_profiles') from pg_cron (job "refresh-user-profiles", every
--   30 minutes), psql, POST /admin/update-user-profiles.
CREATE OR REPLACE FUNCTION recs.job_refresh_user_profiles() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_rows bigint;
BEGIN
    PERFORM recs.set_job_limits();
    PERFORM recs.sync_main();
    PERFORM recs.refresh_materialized_view('recs.user_profiles');
    PERFORM recs.bump_data_version('profiles');
    SELECT count(*) INTO v_rows FROM recs.user_profiles;
    RETURN v_rows;
END;
$$;
COMMENT ON FUNCTION recs.job_refresh_user_profiles() IS
    'Sync and refresh recs.user_profiles CONCURRENTLY. CALL recs.run_job(''refresh_user_profiles'');';
