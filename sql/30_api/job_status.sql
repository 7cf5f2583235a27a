-- api.job_status: the last run of every job that has run, newest first.
-- Arguments: none. Result: job, started_at, finished_at, duration_ms, rows, error, runs (count
--   kept in the log), failures (of those).
-- Errors: none. Caller: GET /admin/jobs.
CREATE OR REPLACE FUNCTION api.job_status()
RETURNS TABLE (job text, started_at timestamptz, finished_at timestamptz, duration_ms double precision,
               rows bigint, error text, runs bigint, failures bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT last.job, last.started_at, last.finished_at, last.duration_ms, last.rows, last.error,
           totals.runs, totals.failures
    FROM (SELECT r.job, count(*) AS runs, count(*) FILTER (WHERE r.error IS NOT NULL) AS failures
          FROM recs.job_runs r GROUP BY r.job) totals
    CROSS JOIN LATERAL (SELECT r.* FROM recs.job_runs r WHERE r.job = totals.job
                        ORDER BY r.started_at DESC LIMIT 1) last
    ORDER BY last.started_at DESC;
$$;
COMMENT ON FUNCTION api.job_status() IS 'Last run and run/failure counts per job. Called by GET /admin/jobs.';
