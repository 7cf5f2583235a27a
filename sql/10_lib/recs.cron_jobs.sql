-- recs.cron_jobs: this database's pg_cron jobs (and the owner's jobs in the cron database, such
-- as purge-cron-history) with pg_cron's last run of each, read through server cron_db.
-- Arguments: none. Result: job (the recs job a `CALL recs.run_job('<job>')` command runs, else the
--   cron job name, else 'cron-job-<jobid>'), jobid, jobname, schedule, command, database, active,
--   and the last run's status, start, end and message (NULL if pg_cron never ran it). One row
--   per job: of several pg_cron jobs running the same recs job, the active one with the lowest id.
-- Errors: none: when pg_cron's database cannot be read, a WARNING and no rows.
-- Caller: recs.job_status (psql, api.job_status, api.stats). SECURITY DEFINER: pg_cron's tables
--   are read with the owner's user mapping (the owner owns the jobs), whoever asks.
CREATE OR REPLACE FUNCTION recs.cron_jobs()
RETURNS TABLE (job text, jobid bigint, jobname text, schedule text, command text, database text,
               active boolean, last_status text, last_started_at timestamptz, last_finished_at timestamptz,
               last_message text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_cron_database text := (SELECT o.option_value
                             FROM pg_foreign_server s, pg_options_to_table(s.srvoptions) o
                             WHERE s.srvname = 'cron_db' AND o.option_name = 'dbname');
BEGIN
    RETURN QUERY
    SELECT DISTINCT ON (1)
           coalesce(substring(j.command FROM $re$recs\.run_job\('([a-z_]+)'\)$re$), j.jobname,
                    'cron-job-' || j.jobid),
           j.jobid, j.jobname, j.schedule, j.command, j.database, j.active,
           d.status, d.start_time, d.end_time, d.return_message
    FROM cron_link.job j
    LEFT JOIN LATERAL (
        SELECT r.status, r.start_time, r.end_time, r.return_message
        FROM cron_link.job_run_details r
        WHERE r.jobid = j.jobid
        ORDER BY r.start_time DESC NULLS LAST
        LIMIT 1
    ) d ON true
    WHERE j.database IN (current_database(), v_cron_database)
    ORDER BY 1, j.active DESC, j.jobid;
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'pg_cron''s jobs could not be read from database %: %', v_cron_database, SQLERRM;
    RETURN;
END;
$$;
COMMENT ON FUNCTION recs.cron_jobs() IS
    'This database''s pg_cron jobs with pg_cron''s last run of each (FDW to the cron database); never raises.';
