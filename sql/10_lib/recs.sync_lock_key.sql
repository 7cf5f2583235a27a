-- recs.sync_lock_key: the advisory lock a sync holds until its job commits (recs.sync_main), so
-- syncs, and the withdrawal of presents made private between them, take turns.
-- Arguments: none. Result: the bigint key for pg_*advisory*_lock. Errors: none.
-- Caller: recs.sync_main, recs.job_withdraw_presents; a DBA looking for a sync in pg_locks.
CREATE OR REPLACE FUNCTION recs.sync_lock_key() RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 7306252103::bigint;  -- any fixed number outside recs.job_lock_key's (int4) range
$$;
COMMENT ON FUNCTION recs.sync_lock_key() IS
    'Advisory lock key of the sync (recs.sync_main), shared by recs.job_withdraw_presents.';
