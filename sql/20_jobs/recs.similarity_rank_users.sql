-- recs.similarity_rank_users: step 3 of an incremental similarity run. The changed users (temp
-- table sim_changed) lose their pools; those of p_users (the changed users with enough
-- interactions) get new ones from recs.neighbor_pool, ranked by the job's backend with a 4MB
-- work_mem (see recs.similarity_rank_all).
-- Arguments: p_users (user keys), p_pool (neighbours kept). Result: none.
-- Errors: none of its own. Caller: recs.job_refresh_user_similarities.
CREATE OR REPLACE FUNCTION recs.similarity_rank_users(p_users integer[], p_pool integer) RETURNS void
LANGUAGE plpgsql
SET work_mem = '4MB' AS $$
BEGIN
    DELETE FROM recs.user_neighbors n USING sim_changed u WHERE n.user_key = u.user_key;
    INSERT INTO recs.user_neighbors (user_key, neighbor_keys, similarities)
    SELECT c.user_key, pool.neighbor_keys, pool.similarities
    FROM unnest(coalesce(p_users, '{}')) AS c(user_key)
    CROSS JOIN LATERAL recs.neighbor_pool(c.user_key, p_pool) pool
    WHERE pool.neighbor_keys IS NOT NULL;
END;
$$;
COMMENT ON FUNCTION recs.similarity_rank_users(integer[], integer) IS
    'Incremental similarity run, step 3: new pools for the changed users (serial, small work_mem).';
