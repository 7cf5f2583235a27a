-- recs.compute_neighbors: the neighbour pool (neighbor_pool_size most similar users) of each given
-- user by cosine similarity, from the
-- unit-length vectors in recs.user_vectors (a cosine is then a plain sum of products). Cost is
-- bounded per user: candidates come only through the user's presents marked candidate (at most
-- the job's degree cap of users; norms still use every present), and each user is ranked
-- on its own (LATERAL ... LIMIT K), so nothing spills to disk.
-- Arguments: p_users, the user keys to compute.
-- Result: (user_key, neighbor_key, similarity) rows, at most neighbor_pool_size per user.
-- Errors: none of its own. Caller: recs.job_refresh_user_similarities.
CREATE OR REPLACE FUNCTION recs.compute_neighbors(p_users integer[])
RETURNS TABLE (user_key integer, neighbor_key integer, similarity double precision)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_pool integer := recs.setting('neighbor_pool_size')::integer;
BEGIN
    RETURN QUERY
    SELECT target.user_key, c.neighbor_key, c.similarity
    FROM unnest(p_users) AS target(user_key)
    CROSS JOIN LATERAL (
        SELECT b.user_key AS neighbor_key, sum(a.value * b.value) AS similarity
        FROM recs.user_vectors a
        JOIN recs.user_vectors b ON b.item_id = a.item_id AND b.user_key <> a.user_key
        WHERE a.user_key = target.user_key AND a.candidate
        GROUP BY b.user_key
        HAVING sum(a.value * b.value) > 0
        ORDER BY sum(a.value * b.value) DESC, b.user_key
        LIMIT v_pool
    ) c;
END;
$$;
COMMENT ON FUNCTION recs.compute_neighbors(integer[]) IS
    'The neighbor_pool_size most similar users (cosine of unit interaction vectors, candidates through presents within the degree cap) of the given users. Used by the similarity job.';
