-- recs.job_lock_key: the advisory lock a run of one job holds until its transaction ends, so two
-- runs of the same job never overlap (recs.execute_job). Distinct from the sync's lock
-- (recs.sync_main): the key space of job names is offset by a fixed number. The name
-- 'derived_rows' (no job's) keys the lock the refresh jobs (popularity, profiles, similarities,
-- item neighbours) hold from before their sync (or their first read) until they commit, which
-- erasures share (recs.erase_users).
-- Arguments: p_job, the job name. Result: the bigint key for pg_*advisory*_lock.
-- Errors: none. Caller: recs.execute_job, the refresh jobs, recs.job_withdraw_presents,
--   recs.erase_users; a DBA looking for a running job in pg_locks.
CREATE OR REPLACE FUNCTION recs.job_lock_key(p_job text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT hashtext('recs.job:' || p_job)::bigint;
$$;
COMMENT ON FUNCTION recs.job_lock_key(text) IS
    'Advisory lock key of one job''s runs (one run of a job at a time). Used by recs.execute_job.';
