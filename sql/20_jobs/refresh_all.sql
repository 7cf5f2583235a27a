-- recs.refresh_all: every refresh job now, in dependency order (popularity, profiles,
-- similarities), each through recs.run_job, so each run is logged and committed on its own.
-- Arguments: none. Result: none (see recs.job_status / recs.job_runs).
-- Errors: the first failing job's error, after its run is logged; later jobs are not run.
-- Caller: psql (CALL recs.refresh_all();), as the owner role. A procedure, not a function:
--   each job commits its own run-log row. Call it outside a transaction block.
CREATE OR REPLACE PROCEDURE recs.refresh_all()
LANGUAGE plpgsql AS $$
BEGIN
    CALL recs.run_job('refresh_popular_items');
    CALL recs.run_job('refresh_user_profiles');
    CALL recs.run_job('refresh_user_similarities');
END;
$$;
COMMENT ON PROCEDURE recs.refresh_all() IS
    'Run the three refresh jobs in order, each logged and committed: CALL recs.refresh_all();';
