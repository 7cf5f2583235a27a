-- recs.similarity_rank_users: step 3 of an incremental similarity run. The changed users (temp
-- table sim_changed) lose their pools; those still marked in recs.dirty_users (changed up to
-- p_started) with at least p_min interactions get new ones from recs.neighbor_pool, ranked in a
-- parallel scan of recs.user_stats shared by the job's backend and p_workers parallel workers, as
-- recs.similarity_rank_all ranks everyone (a temp table is invisible to parallel workers, so the
-- changed users are found through recs.dirty_users, which the job clears after this step; a user
-- marked there while the run goes, e.g. by an erasure, is left to the next run).
-- Arguments: p_min (interactions needed), p_pool (neighbours kept), p_workers (0: the backend
--   alone), p_started (the job's start: users marked later wait for the next run).
-- Result: none. Errors: none of its own. Caller: recs.job_refresh_user_similarities.
CREATE OR REPLACE FUNCTION recs.similarity_rank_users(
    p_min integer, p_pool integer, p_workers integer, p_started timestamptz
) RETURNS void
LANGUAGE plpgsql
SET work_mem = '4MB'
SET max_parallel_workers_per_gather = 0
SET parallel_setup_cost = 0
SET parallel_tuple_cost = 0
SET min_parallel_table_scan_size = 0 AS $$
BEGIN
    PERFORM set_config('max_parallel_workers_per_gather', greatest(p_workers, 0)::text, true);
    CREATE TEMP TABLE sim_pools ON COMMIT DROP AS
    SELECT s.user_key, pool.neighbor_keys, pool.similarities
    FROM recs.user_stats s
    CROSS JOIN LATERAL recs.neighbor_pool(s.user_key, p_pool) pool
    WHERE s.interactions >= p_min AND pool.neighbor_keys IS NOT NULL
      AND EXISTS (SELECT FROM recs.dirty_users d WHERE d.user_key = s.user_key AND d.changed_at <= p_started);
    PERFORM set_config('max_parallel_workers_per_gather', '0', true);
    DELETE FROM recs.user_neighbors n USING sim_changed u WHERE n.user_key = u.user_key;
    INSERT INTO recs.user_neighbors (user_key, neighbor_keys, similarities)
    SELECT p.user_key, p.neighbor_keys, p.similarities FROM sim_pools p
    WHERE EXISTS (SELECT FROM sim_changed c WHERE c.user_key = p.user_key)  -- none marked since the run began
    ORDER BY p.user_key;
    DROP TABLE sim_pools;
END;
$$;
COMMENT ON FUNCTION recs.similarity_rank_users(integer, integer, integer, timestamptz) IS
    'Incremental similarity run, step 3: new pools for the changed users, ranked in parallel (p_workers + the backend).';
