-- recs.refresh_all: every refresh job now, in the order of recs.refresh_jobs(), each through
-- recs.run_job, so each run is logged and committed on its own.
-- Arguments: none. Result: none (see recs.job_status / recs.job_runs).
-- Errors: the first failing job's error, after its run is logged; later jobs are not run.
-- Caller: psql (CALL recs.refresh_all();), as the owner role. A procedure, not a function:
--   each job commits its own run-log row. Call it outside a transaction block.
CREATE OR REPLACE PROCEDURE recs.refresh_all()
LANGUAGE plpgsql AS $$
DECLARE
    v_job text;
BEGIN
    FOREACH v_job IN ARRAY ARRAY(SELECT j.job FROM recs.refresh_jobs() j ORDER BY j.position) LOOP
        CALL recs.run_job(v_job);
    END LOOP;
END;
$$;
COMMENT ON PROCEDURE recs.refresh_all() IS
    'Run the refresh jobs in order (recs.refresh_jobs), each logged and committed: CALL recs.refresh_all();';
