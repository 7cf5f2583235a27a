-- api.run_job: lets the admin API run a job as the owner role, without granting the app role
-- anything on the private schema.
-- Arguments: p_job, the job name. Result: the run: run_id (recs.job_runs.id), job, status
--   ('succeeded', 'failed', or 'skipped' when another run of the job was in progress),
--   started_at, duration_ms, rows, error_code (the failure's SQLSTATE, else NULL). The error's
--   text may name hosts and roles: it stays in recs.job_runs, for psql.
-- Errors: P0002 for an unknown job. A failing, cancelled or timed-out job is reported in the row
--   (status, error_code), not raised. The caller's statement_timeout bounds the run: the admin
--   API sets the job's own before calling (JOB_STATEMENT_TIMEOUT_S), not the request pool's.
-- Caller: POST /admin/jobs/{job}. SECURITY DEFINER with a pinned search_path.
CREATE OR REPLACE FUNCTION api.run_job(p_job text)
RETURNS TABLE (run_id bigint, job text, status text, started_at timestamptz, duration_ms double precision,
               rows bigint, error_code text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_run recs.job_runs;
BEGIN
    v_run := recs.execute_job(p_job);
    RETURN QUERY SELECT v_run.id, v_run.job, recs.job_run_status(v_run.error, v_run.details), v_run.started_at,
                        v_run.duration_ms, v_run.rows, v_run.details ->> 'sqlstate';
END;
$$;
COMMENT ON FUNCTION api.run_job(text) IS
    'Run a job now as the owner and return its logged run (status and SQLSTATE, not the error text). Called by POST /admin/jobs/{job}.';
