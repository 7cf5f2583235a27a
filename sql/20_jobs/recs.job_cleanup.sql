-- recs.job_cleanup: purges recs.job_runs and recs.user_erasures rows older than the
-- job_run_retention_days setting, dismissals past dismissal_days (when not 0: for ever), and
-- served pages (with their attributions) and their counters (recs.online_hourly) older than
-- online_retention_days, by whole UTC hours. Also moves the age groups that came from a birth date
-- along with the users' age: a user stored as 18-24 is 25-34 from their 25th birthday (their
-- updated_at moves too, so their cached pages go; the popularity job moves their interactions to
-- the new segment at its next run). A group that disagreed with the birth date when it was stored
-- (sent explicitly) stays as sent.
-- Arguments: none. Result: rows deleted or aged. Errors: a bad setting value (22P02).
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
    v_aged bigint;
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
    -- Whole years of age compared first (0.2 s over 300k users), the groups only where they differ.
    UPDATE recs.user_demographics d
    SET age_group = recs.age_group_of(d.birth_date), updated_at = clock_timestamp()
    WHERE d.birth_date IS NOT NULL
      AND date_part('year', age(d.updated_at::date, d.birth_date)) <> date_part('year', age(current_date, d.birth_date))
      AND recs.age_group_is_derived(d.age_group, d.birth_date, d.updated_at::date)
      AND d.age_group IS DISTINCT FROM recs.age_group_of(d.birth_date);
    GET DIAGNOSTICS v_aged = ROW_COUNT;
    RETURN v_runs + v_erasures + v_dismissals + v_served + v_aged;
END;
$$;
COMMENT ON FUNCTION recs.job_cleanup() IS
    'Delete run-log and erasure-log rows past job_run_retention_days, dismissals past dismissal_days, served pages and their hourly counters past online_retention_days; move birth-date age groups along with age. Run it as CALL recs.run_job(''cleanup'').';
