-- recs.job_step: marks the end of one step of the running job, so recs.job_runs.details shows
-- where a run's time went ({"steps_ms": {"sync.events_read": 21034.5, ...}}). The time since the
-- previous mark (or the job's start) is added to the step's total; kept in transaction-local
-- settings that recs.execute_job starts and reads.
-- Arguments: p_step, the step's name. Result: none. Errors: none.
-- Caller: job functions and their steps. Outside recs.execute_job it only measures from the
--   first mark of the transaction.
CREATE OR REPLACE FUNCTION recs.job_step(p_step text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_now timestamptz := clock_timestamp();
    v_last timestamptz := nullif(current_setting('recs.job_step_at', true), '')::timestamptz;
    v_steps jsonb := coalesce(nullif(current_setting('recs.job_steps', true), '')::jsonb, '{}');
BEGIN
    IF v_last IS NOT NULL THEN
        v_steps := v_steps || jsonb_build_object(p_step, round(
            (coalesce((v_steps ->> p_step)::double precision, 0)
             + 1000 * date_part('epoch', v_now - v_last))::numeric, 1));
        PERFORM set_config('recs.job_steps', v_steps::text, true);
    END IF;
    PERFORM set_config('recs.job_step_at', v_now::text, true);
END;
$$;
COMMENT ON FUNCTION recs.job_step(text) IS
    'Mark the end of a step of the running job: its time goes into recs.job_runs.details.steps_ms.';
