-- api.run_job: lets the admin API run a job as the owner role, without granting the app role
-- anything on the private schema.
-- Arguments: p_job, the job name. Result: the run (job, started_at, duration_ms, rows, error).
-- Errors: P0002 for an unknown job. A failing job is reported in the row (error), not raised.
-- Caller: POST /admin/jobs/{job}. SECURITY DEFINER with a pinned search_path.
CREATE OR REPLACE FUNCTION api.run_job(p_job text)
RETURNS TABLE (job text, started_at timestamptz, duration_ms double precision, rows bigint, error text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_run recs.job_runs;
BEGIN
    v_run := recs.execute_job(p_job);
    RETURN QUERY SELECT v_run.job, v_run.started_at, v_run.duration_ms, v_run.rows, v_run.error;
END;
$$;
COMMENT ON FUNCTION api.run_job(text) IS
    'Run a job now as the owner and return its logged run. Called by POST /admin/jobs/{job}.';
