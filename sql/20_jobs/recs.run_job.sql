-- recs.run_job: the entry point of pg_cron and psql. Runs the job through recs.execute_job,
-- commits its run-log row (a failed run's in a transaction of its own), then raises if the job
-- failed, so pg_cron's job_run_details and psql show the failure too. A run skipped because
-- another run of the job is in progress only says so (NOTICE).
-- Arguments: p_job, the job name ('cleanup', ...). Result: none (see recs.job_runs).
-- Errors: P0002 for an unknown job; the job's own SQLSTATE and message after logging.
-- Caller: pg_cron (CALL recs.run_job('<name>')), psql. Call it outside a transaction block.
CREATE OR REPLACE PROCEDURE recs.run_job(p_job text)
LANGUAGE plpgsql AS $$
DECLARE
    v_run recs.job_runs;
BEGIN
    v_run := recs.execute_job(p_job);
    IF v_run.error IS NOT NULL THEN
        -- The job's work is already undone (its subtransaction); only the log row would commit.
        -- But a failure on the link to main leaves postgres_fdw's session unusable, and it refuses
        -- to commit a transaction that used it: the row is written again in a transaction of its
        -- own, after a rollback that closes that session.
        ROLLBACK;
        INSERT INTO recs.job_runs OVERRIDING SYSTEM VALUE SELECT v_run.*;  -- the id it was given
    END IF;
    COMMIT;
    IF v_run.details ? 'skipped_because' THEN
        RAISE NOTICE 'job % skipped: %', p_job, v_run.details ->> 'skipped_because';
    ELSIF v_run.error IS NOT NULL THEN
        RAISE EXCEPTION 'job % failed: %', p_job, v_run.error
            USING ERRCODE = coalesce(v_run.details ->> 'sqlstate', 'P0001');
    END IF;
END;
$$;
COMMENT ON PROCEDURE recs.run_job(text) IS
    'Run a job and log it in recs.job_runs; raises after logging if it failed. CALL recs.run_job(''cleanup'');';
