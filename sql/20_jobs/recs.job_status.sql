-- recs.job_status: one row per job, for DBAs (psql) and operators (GET /admin/jobs, /stats,
-- /metrics): the job's last run from the run log (start, duration, rows, error and its SQLSTATE), run and failure
-- counts the log keeps (runs skipped because another run of the job was in progress are counted
-- apart, in skipped, and are never the last run), its pg_cron schedule and next start, and
-- pg_cron's own last outcome (a run that failed before reaching recs.run_job, e.g. "connection
-- failed", shows only there), and running_since: when the transaction of a run in progress began
-- (the backend holding the job's lock, recs.job_lock_key; NULL when none runs, or when the
-- backend is another role's and the reader may not see its pg_stat_activity row).
-- Jobs are every recs.job_<name> function plus any other pg_cron job of this database.
-- Errors: none (pg_cron's columns are NULL when its database cannot be read).
-- Caller: psql, api.job_status, api.stats.
CREATE OR REPLACE VIEW recs.job_status AS
WITH cron AS (
    SELECT * FROM recs.cron_jobs()
),
running AS (
    -- Advisory locks taken with one bigint key: classid holds its high 32 bits, objid the low ones.
    SELECT (l.classid::bigint << 32) | l.objid::bigint AS lock_key, min(a.xact_start) AS since
    FROM pg_locks l
    JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
    GROUP BY 1
),
jobs AS (
    SELECT substr(p.proname, 5) AS job
    FROM pg_proc p
    WHERE p.pronamespace = 'recs'::regnamespace AND p.proname LIKE 'job\_%' AND p.pronargs = 0
    UNION
    SELECT c.job FROM cron c
)
SELECT j.job,
       last.started_at AS last_started_at,
       last.finished_at AS last_finished_at,
       last.duration_ms AS last_duration_ms,
       last.rows AS last_rows,
       last.error AS last_error,
       coalesce(totals.runs, 0) AS runs,
       coalesce(totals.failures, 0) AS failures,
       c.jobname AS cron_jobname,
       c.schedule,
       c.active AS scheduled,
       CASE WHEN c.active THEN recs.cron_next_run(c.schedule, now()) END AS next_run_at,
       c.last_status AS cron_last_status,
       c.last_started_at AS cron_last_started_at,
       c.last_message AS cron_last_message,
       coalesce(totals.skipped, 0) AS skipped,
       last.details ->> 'sqlstate' AS last_sqlstate,
       running.since AS running_since
FROM jobs j
LEFT JOIN cron c ON c.job = j.job
LEFT JOIN running ON running.lock_key = recs.job_lock_key(j.job)
LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE NOT coalesce(r.details ? 'skipped_because', false)) AS runs,
           count(*) FILTER (WHERE r.error IS NOT NULL) AS failures,
           count(*) FILTER (WHERE r.details ? 'skipped_because') AS skipped
    FROM recs.job_runs r WHERE r.job = j.job
) totals ON true
LEFT JOIN LATERAL (
    SELECT r.started_at, r.finished_at, r.duration_ms, r.rows, r.error, r.details
    FROM recs.job_runs r WHERE r.job = j.job AND NOT coalesce(r.details ? 'skipped_because', false)
    ORDER BY r.started_at DESC LIMIT 1
) last ON true;
COMMENT ON VIEW recs.job_status IS
    'Per job: last run (start, duration, rows, error), logged runs/failures, pg_cron schedule, next start, pg_cron''s last outcome, and the start of a run in progress.';
