-- recs.job_cleanup: purges recs.job_runs and recs.user_erasures rows older than the
-- job_run_retention_days setting, dismissals past dismissal_days (when not 0: for ever), and
-- served pages (with their attributions) and their counters (recs.online_hourly) older than
-- online_retention_days, by whole UTC hours.
-- Arguments: none. Result: rows deleted. Errors: a bad setting value (22P02).
-- Caller: recs.run_job('cleanup') from pg_cron (job "cleanup", every 6 hours), psql or admin API.
CREATE OR REPLACE FUNCTION recs.job_cleanup() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_before timestamptz := now() - make_interval(days => recs.setting('job_run_retention_days')::int);
    v_runs bigint;
    v_erasures bigint;
    v_dismissal_days integer := recs.setting('dismissal_days')::integer;
    v_dismissals bigint := 0;
    v_served bigint;
    v_served_cutoff timestamptz;
BEGIN
    DELETE FROM recs.job_runs WHERE started_at < v_before;
    GET DIAGNOSTICS v_runs = ROW_COUNT;
    DELETE FROM recs.user_erasures WHERE erased_at < v_before;
    GET DIAGNOSTICS v_erasures = ROW_COUNT;
    IF v_dismissal_days > 0 THEN
        DELETE FROM recs.dismissals WHERE dismissed_at <= now() - make_interval(days => v_dismissal_days);
        GET DIAGNOSTICS v_dismissals = ROW_COUNT;
    END IF;
    -- Served pages and their counters go by whole (UTC) hours, so the counters stay equal to the pages kept.
    v_served_cutoff := date_trunc('hour', now() - make_interval(days => recs.setting('online_retention_days')::int), 'UTC');
    DELETE FROM recs.served_pages WHERE served_at < v_served_cutoff;
    GET DIAGNOSTICS v_served = ROW_COUNT;
    DELETE FROM recs.online_hourly WHERE hour < v_served_cutoff;
    RETURN v_runs + v_erasures + v_dismissals + v_served;
END;
$$;
COMMENT ON FUNCTION recs.job_cleanup() IS
    'Delete run-log and erasure-log rows past job_run_retention_days, dismissals past dismissal_days, served pages and their hourly counters past online_retention_days. Run it as CALL recs.run_job(''cleanup'').';
