-- recs.compute_neighbors: the top-K neighbours of each given user by cosine similarity of
-- IUF-weighted interactions. Cost is bounded per user: candidates come only through presents
-- with at most similarity_item_degree_cap users (norms still use every present), and each user
-- is ranked on its own (LATERAL ... LIMIT K), so nothing spills to disk.
-- Arguments: p_users, the user keys to compute. Reads recs.item_stats and recs.user_stats.
-- Result: (user_key, neighbor_key, similarity) rows, at most K per user.
-- Errors: none of its own. Caller: recs.job_refresh_user_similarities.
CREATE OR REPLACE FUNCTION recs.compute_neighbors(p_users integer[])
RETURNS TABLE (user_key integer, neighbor_key integer, similarity double precision)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_k integer := recs.setting('max_similar_users')::integer;
    v_cap integer := recs.setting('similarity_item_degree_cap')::integer;
    v_like double precision := recs.setting('like_weight')::double precision;
    v_click double precision := recs.setting('click_weight')::double precision;
    v_click_cap integer := recs.setting('similarity_click_cap')::integer;
BEGIN
    RETURN QUERY
    SELECT u.user_key, c.neighbor_key, c.similarity
    FROM unnest(p_users) AS target(user_key)
    JOIN recs.user_stats u ON u.user_key = target.user_key AND u.norm > 0
    CROSS JOIN LATERAL (
        SELECT d.neighbor_key, d.dot / (u.norm * v.norm) AS similarity
        FROM (
            SELECT b.user_key AS neighbor_key,
                   sum(recs.interaction_weight(a.liked_at IS NOT NULL, a.clicks, v_like, v_click, v_click_cap)
                       * recs.interaction_weight(b.liked_at IS NOT NULL, b.clicks, v_like, v_click, v_click_cap)
                       * s.iuf * s.iuf) AS dot
            FROM recs.interactions a
            JOIN recs.item_stats s ON s.item_id = a.item_id AND s.users <= v_cap
            JOIN recs.interactions b ON b.item_id = a.item_id AND b.user_key <> a.user_key
            WHERE a.user_key = u.user_key
            GROUP BY b.user_key
        ) d
        JOIN recs.user_stats v ON v.user_key = d.neighbor_key AND v.norm > 0
        WHERE d.dot > 0
        ORDER BY d.dot / v.norm DESC, d.neighbor_key
        LIMIT v_k
    ) c;
END;
$$;
COMMENT ON FUNCTION recs.compute_neighbors(integer[]) IS
    'Top-K cosine neighbours (IUF-weighted, degree-capped candidates) of the given users. Used by the similarity job.';
