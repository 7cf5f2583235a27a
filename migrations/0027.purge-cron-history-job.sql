-- purge-cron-history becomes a job like the others: recs.job_purge_cron_history (sql/20_jobs),
-- run by pg_cron as CALL recs.run_job('purge_cron_history') in this database, logged in
-- recs.job_runs and runnable from the admin API under the name GET /admin/jobs lists. It deletes
-- through cron_link, which is therefore no longer read-only, and reads its retention at each run
-- (migrate no longer writes it into the command).
UPDATE recs.settings
SET description = 'Days of pg_cron''s run history (cron.job_run_details) the purge_cron_history job keeps; read at each run.'
WHERE key = 'cron_history_retention_days';

COMMENT ON SCHEMA cron_link IS
    'pg_cron''s job tables through postgres_fdw from the cron database: read by recs.cron_jobs, old runs deleted by recs.job_purge_cron_history.';
COMMENT ON FOREIGN TABLE cron_link.job_run_details IS
    'pg_cron''s cron.job_run_details: what pg_cron started and how it ended (the owner role sees and deletes its own runs).';
