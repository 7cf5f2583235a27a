-- recs.execute_job: runs one job function (recs.job_<name>) in a subtransaction and records the
-- run in recs.job_runs whatever happens: on failure, cancellation or timeout (statement_timeout,
-- pg_cancel_backend) the job's work is rolled back (the last good data stays) and the error is
-- logged, not raised. Steps the job marks with recs.job_step go into details.steps_ms; a
-- failure's SQLSTATE into details.sqlstate.
-- One run of a job at a time: while a run holds the job's lock (recs.job_lock_key), another run
-- of the same job does not wait: it is logged as skipped (details.skipped_because, rows and error
-- NULL) and returns at once. Different jobs may run together; their syncs take turns
-- (recs.sync_main).
-- Only a backend that is killed (pg_terminate_backend, a crash) leaves no row; pg_cron's
-- job_run_details still records that run.
-- Arguments: p_job, the job name ('cleanup', ...). Result: the recs.job_runs row of this run.
-- Errors: P0002 (no_data_found) for an unknown job; 42501 (insufficient_privilege) when not run
--   as the owner of schema recs (pg_cron and api.run_job are; a DBA does SET ROLE first).
-- Caller: recs.run_job (pg_cron, psql) and api.run_job (admin API).
CREATE OR REPLACE FUNCTION recs.execute_job(p_job text) RETURNS recs.job_runs
LANGUAGE plpgsql AS $$
DECLARE
    v_function regprocedure;
    v_started timestamptz := clock_timestamp();
    v_rows bigint;
    v_error text;
    v_sqlstate text;
    v_run recs.job_runs;
    v_steps jsonb;
    v_details jsonb;
    v_owner oid := (SELECT n.nspowner FROM pg_namespace n WHERE n.nspname = 'recs');
BEGIN
    -- A job reads main through the owner's user mapping and writes objects the owner owns: run as
    -- anyone else (a DBA's own role, postgres), it could only fail. Said before anything is logged.
    IF (SELECT r.oid FROM pg_roles r WHERE r.rolname = current_user) IS DISTINCT FROM v_owner THEN
        RAISE EXCEPTION 'jobs run as the owner role %, not %: SET ROLE % first (or connect as it)',
            quote_ident(pg_get_userbyid(v_owner)), quote_ident(current_user), quote_ident(pg_get_userbyid(v_owner))
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_job IS NULL OR p_job !~ '^[a-z_]+$' THEN
        RAISE EXCEPTION 'unknown job %', p_job USING ERRCODE = 'no_data_found';
    END IF;
    v_function := to_regprocedure(format('recs.%I()', 'job_' || p_job));
    IF v_function IS NULL THEN
        RAISE EXCEPTION 'unknown job %', p_job USING ERRCODE = 'no_data_found';
    END IF;
    IF NOT pg_try_advisory_xact_lock(recs.job_lock_key(p_job)) THEN
        v_details := jsonb_build_object('skipped_because', format('another run of %s is in progress', p_job));
    ELSE
        PERFORM set_config('recs.job_steps', '{}', true);
        PERFORM set_config('recs.job_step_at', v_started::text, true);
        BEGIN
            EXECUTE format('SELECT %s()', v_function::regproc::text) INTO v_rows;
            v_steps := nullif(current_setting('recs.job_steps', true), '')::jsonb;
        EXCEPTION WHEN OTHERS OR query_canceled THEN
            GET STACKED DIAGNOSTICS v_error = MESSAGE_TEXT, v_sqlstate = RETURNED_SQLSTATE;
        END;
        v_details := CASE WHEN v_sqlstate IS NOT NULL THEN jsonb_build_object('sqlstate', v_sqlstate)
                          WHEN v_steps IS NOT NULL AND v_steps <> '{}' THEN jsonb_build_object('steps_ms', v_steps)
                     END;
    END IF;
    INSERT INTO recs.job_runs (job, started_at, finished_at, duration_ms, rows, error, details)
    VALUES (p_job, v_started, clock_timestamp(),
            1000 * date_part('epoch', clock_timestamp() - v_started), v_rows, v_error, v_details)
    RETURNING * INTO v_run;
    RETURN v_run;
END;
$$;
COMMENT ON FUNCTION recs.execute_job(text) IS
    'Run recs.job_<name>() in a subtransaction, one run per job at a time (else logged as skipped), and log it in recs.job_runs (errors, cancellations and timeouts logged, not raised).';
