-- recs.job_run_status: the outcome of one logged run, from its recs.job_runs error and details.
-- Arguments: p_error, p_details (the run's columns). Result: 'skipped' (another run of the job
--   was in progress), 'failed' (an error was logged) or 'succeeded'.
-- Errors: none. Caller: api.run_job, api.job_status.
CREATE OR REPLACE FUNCTION recs.job_run_status(p_error text, p_details jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN coalesce(p_details ? 'skipped_because', false) THEN 'skipped'
                WHEN p_error IS NOT NULL THEN 'failed'
                ELSE 'succeeded' END;
$$;
COMMENT ON FUNCTION recs.job_run_status(text, jsonb) IS
    'succeeded, failed or skipped, from a recs.job_runs row''s error and details.';
