-- api.job_status: recs.job_status for the app role.
-- Arguments: none. Result: job, the last run's started_at, finished_at, duration_ms, rows, error
--   (NULL when it never ran), runs and failures kept in the run log, cron_jobname, schedule,
--   scheduled (active in pg_cron), next_run_at, and pg_cron's last outcome (cron_last_status,
--   cron_last_started_at, cron_last_message); the pg_cron columns are NULL for a job pg_cron
--   does not run here or when its database cannot be read.
-- Errors: none. Caller: GET /admin/jobs, GET /metrics.
CREATE OR REPLACE FUNCTION api.job_status()
RETURNS TABLE (job text, started_at timestamptz, finished_at timestamptz, duration_ms double precision,
               rows bigint, error text, runs bigint, failures bigint, cron_jobname text, schedule text,
               scheduled boolean, next_run_at timestamptz, cron_last_status text,
               cron_last_started_at timestamptz, cron_last_message text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.job, s.last_started_at, s.last_finished_at, s.last_duration_ms, s.last_rows, s.last_error,
           s.runs, s.failures, s.cron_jobname, s.schedule, s.scheduled, s.next_run_at,
           s.cron_last_status, s.cron_last_started_at, s.cron_last_message
    FROM recs.job_status s
    ORDER BY s.job;
$$;
COMMENT ON FUNCTION api.job_status() IS
    'recs.job_status for the app: last run, counts, schedule, next start, pg_cron outcome. Called by GET /admin/jobs and /metrics.';
