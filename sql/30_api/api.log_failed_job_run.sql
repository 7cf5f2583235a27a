-- api.log_failed_job_run: logs a run of a job that failed on the link to main, for the admin API.
-- postgres_fdw refuses to commit a transaction whose session with main broke (it cannot roll back
-- to its savepoint there), so api.run_job's own log row is lost with it; the admin API then writes
-- the run here, in a transaction of its own, as recs.run_job does for pg_cron.
-- Arguments: p_job (a job name), p_started_at (when the request started it), p_sqlstate (the
--   failure's SQLSTATE: class 08, a broken link to main), p_error (its message, kept for psql).
-- Result: the logged run, as api.run_job returns it (status 'failed').
-- Errors: P0002 for an unknown job; 22023 for a SQLSTATE outside class 08.
-- Caller: POST /admin/jobs/{job} and the three /admin refresh routes. SECURITY DEFINER.
CREATE OR REPLACE FUNCTION api.log_failed_job_run(
    p_job text, p_started_at timestamptz, p_sqlstate text, p_error text
) RETURNS TABLE (run_id bigint, job text, status text, started_at timestamptz, duration_ms double precision,
                 rows bigint, error_code text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_run recs.job_runs;
BEGIN
    IF p_job IS NULL OR p_job !~ '^[a-z_]+$' OR to_regprocedure(format('recs.%I()', 'job_' || p_job)) IS NULL THEN
        RAISE EXCEPTION 'unknown job %', p_job USING ERRCODE = 'no_data_found';
    END IF;
    IF p_sqlstate IS NULL OR p_sqlstate !~ '^08[0-9A-Z]{3}$' THEN
        RAISE EXCEPTION 'only a failure on the link to main (SQLSTATE class 08) is logged here, not %', p_sqlstate
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The start is the API host's clock: held within the last day and not after now.
    p_started_at := least(greatest(coalesce(p_started_at, now()), now() - interval '1 day'), clock_timestamp());
    INSERT INTO recs.job_runs (job, started_at, finished_at, duration_ms, rows, error, details)
    VALUES (p_job, p_started_at, clock_timestamp(), 1000 * date_part('epoch', clock_timestamp() - p_started_at),
            NULL, left(coalesce(p_error, 'the link to main failed'), 2000), jsonb_build_object('sqlstate', p_sqlstate))
    RETURNING * INTO v_run;
    RETURN QUERY SELECT v_run.id, v_run.job, recs.job_run_status(v_run.error, v_run.details), v_run.started_at,
                        v_run.duration_ms, v_run.rows, v_run.details ->> 'sqlstate';
END;
$$;
COMMENT ON FUNCTION api.log_failed_job_run(text, timestamptz, text, text) IS
    'Log a job run that failed on the link to main (its own log row was lost with its transaction). Called by the admin API.';
