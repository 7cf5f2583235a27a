-- api.job_status: every job (each recs.job_<name> function) with its last run, if any.
-- Arguments: none. Result: job, started_at, finished_at, duration_ms, rows, error of the last
--   run (NULL when it never ran), runs and failures kept in the run log.
-- Errors: none. Caller: GET /admin/jobs.
CREATE OR REPLACE FUNCTION api.job_status()
RETURNS TABLE (job text, started_at timestamptz, finished_at timestamptz, duration_ms double precision,
               rows bigint, error text, runs bigint, failures bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH jobs AS (
        SELECT substr(p.proname, 5) AS job
        FROM pg_proc p
        WHERE p.pronamespace = 'recs'::regnamespace AND p.proname LIKE 'job\_%' AND p.pronargs = 0
    )
    SELECT j.job, last.started_at, last.finished_at, last.duration_ms, last.rows, last.error,
           coalesce(totals.runs, 0), coalesce(totals.failures, 0)
    FROM jobs j
    LEFT JOIN LATERAL (SELECT count(*) AS runs, count(*) FILTER (WHERE r.error IS NOT NULL) AS failures
                       FROM recs.job_runs r WHERE r.job = j.job) totals ON true
    LEFT JOIN LATERAL (SELECT r.* FROM recs.job_runs r WHERE r.job = j.job
                       ORDER BY r.started_at DESC LIMIT 1) last ON true
    ORDER BY j.job;
$$;
COMMENT ON FUNCTION api.job_status() IS 'Every job with its last run and run/failure counts. Called by GET /admin/jobs.';
