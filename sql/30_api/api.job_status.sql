-- api.job_status: recs.job_status for the app role, without error texts (they may name hosts
-- and roles; psql shows them in recs.job_status).
-- Arguments: none. Result: job, the last run's started_at, finished_at, duration_ms, rows,
--   error_code (its SQLSTATE when it failed; NULL when it succeeded or never ran), runs,
--   failures and skipped (runs skipped because one was in progress) in the run log,
--   cron_jobname, schedule, scheduled (active in pg_cron), next_run_at, and pg_cron's last
--   outcome (cron_last_status, cron_last_started_at); the pg_cron columns are NULL for a job
--   pg_cron does not run here or when its database cannot be read; running_since, when the
--   transaction of a run in progress began (NULL when none runs).
-- Errors: none. Caller: GET /admin/jobs, GET /metrics, api.stats.
CREATE OR REPLACE FUNCTION api.job_status()
RETURNS TABLE (job text, started_at timestamptz, finished_at timestamptz, duration_ms double precision,
               rows bigint, error_code text, runs bigint, failures bigint, skipped bigint, cron_jobname text,
               schedule text, scheduled boolean, next_run_at timestamptz, cron_last_status text,
               cron_last_started_at timestamptz, running_since timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.job, s.last_started_at, s.last_finished_at, s.last_duration_ms, s.last_rows,
           CASE WHEN s.last_error IS NOT NULL THEN coalesce(s.last_sqlstate, 'P0001') END,
           s.runs, s.failures, s.skipped, s.cron_jobname, s.schedule, s.scheduled, s.next_run_at,
           s.cron_last_status, s.cron_last_started_at, s.running_since
    FROM recs.job_status s
    ORDER BY s.job;
$$;
COMMENT ON FUNCTION api.job_status() IS
    'recs.job_status for the app (error codes, not texts): last run, counts, schedule, next start, pg_cron outcome, run in progress. Called by GET /admin/jobs and /metrics.';
