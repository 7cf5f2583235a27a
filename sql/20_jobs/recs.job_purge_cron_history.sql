-- recs.job_purge_cron_history: deletes pg_cron's run history (cron.job_run_details, in the cron
-- database, through cron_link) older than the cron_history_retention_days setting, read at each
-- run. pg_cron never purges it itself. Only the owner role's rows are reached: the FDW logs in as
-- the owner, and pg_cron lets a role see and delete its own runs only.
-- Arguments: none. Result: rows deleted.
-- Errors: a bad setting value (22P02); the cron database unreachable (08001, logged as the run's
--   failure).
-- Caller: recs.run_job('purge_cron_history') from pg_cron (job "purge-cron-history", every 6
--   hours), psql or POST /admin/jobs/purge_cron_history.
CREATE OR REPLACE FUNCTION recs.job_purge_cron_history() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_before timestamptz := now() - make_interval(days => recs.setting('cron_history_retention_days')::int);
    v_rows bigint;
BEGIN
    -- Written so postgres_fdw sends the whole DELETE to the cron database (a variable, not now();
    -- no coalesce): otherwise it would lock each row with SELECT ... FOR UPDATE, which pg_cron
    -- does not allow.
    DELETE FROM cron_link.job_run_details r
    WHERE r.end_time < v_before OR (r.end_time IS NULL AND r.start_time < v_before);
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END;
$$;
COMMENT ON FUNCTION recs.job_purge_cron_history() IS
    'Delete the owner''s pg_cron run history past cron_history_retention_days. Run it as CALL recs.run_job(''purge_cron_history'').';
