-- recs.job_cleanup: purges recs.job_runs rows older than the job_run_retention_days setting.
-- Arguments: none. Result: rows deleted. Errors: a bad setting value (22P02).
-- Caller: recs.run_job('cleanup') from pg_cron (job "cleanup", every 6 hours), psql or admin API.
CREATE OR REPLACE FUNCTION recs.job_cleanup() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_deleted bigint;
BEGIN
    DELETE FROM recs.job_runs
    WHERE started_at < now() - make_interval(days => recs.setting('job_run_retention_days')::int);
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    RETURN v_deleted;
END;
$$;
COMMENT ON FUNCTION recs.job_cleanup() IS
    'Delete run-log rows past job_run_retention_days. Run it as CALL recs.run_job(''cleanup'').';
