-- recs.set_job_limits: what holds for the rest of a refresh job's transaction: more memory for
-- its sorts and hashes, no JIT (compile time dominates here), and recs.settings as they are now:
-- recs.setting answers from this snapshot until the job ends, so every step of one run sees the same knobs even if a DBA
-- changes one meanwhile (the next run sees the change). Temp space is bounded by the owner
-- role's temp_file_limit (set by a superuser's bootstrap; a managed server's parameters otherwise). Time is bounded by the
-- session's statement_timeout, set before the job's statement starts (a timeout set inside it
-- would not apply): JOB_STATEMENT_TIMEOUT_S, the owner role's default in the recs database
-- (pg_cron, psql) and the admin API's job connection.
-- Arguments: none. Result: none. Errors: none.
-- Caller: every refresh job function (recs.job_refresh_*), first thing.
CREATE OR REPLACE FUNCTION recs.set_job_limits() RETURNS void
LANGUAGE sql AS $$
    SELECT set_config('work_mem', '256MB', true),
           set_config('jit', 'off', true),
           set_config('recs.settings_snapshot', (SELECT jsonb_object_agg(s.key, s.value) FROM recs.settings s)::text,
                      true);
$$;
COMMENT ON FUNCTION recs.set_job_limits() IS
    'work_mem 256MB, jit off and a snapshot of recs.settings for the current job transaction.';
