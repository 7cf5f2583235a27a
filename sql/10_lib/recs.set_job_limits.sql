-- recs.set_job_limits: resource settings for the rest of a refresh job's transaction: more memory
-- for its sorts and hashes, bounded time (2 h: a full similarity rebuild at scale is long), no JIT (compile time dominates here). Temp space is
-- bounded by the owner role's temp_file_limit (set by the bootstrap: only a superuser may).
-- Arguments: none. Result: none. Errors: none.
-- Caller: every recs.job_* function, first thing.
CREATE OR REPLACE FUNCTION recs.set_job_limits() RETURNS void
LANGUAGE sql AS $$
    SELECT set_config('work_mem', '256MB', true),
           set_config('statement_timeout', '2h', true),
           set_config('jit', 'off', true);
$$;
COMMENT ON FUNCTION recs.set_job_limits() IS
    'work_mem 256MB, statement_timeout 2h, jit off for the current job transaction.';
