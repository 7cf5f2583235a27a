-- recs.similarity_patch_vectors: step 2 of an incremental similarity run. Rewrites the vectors of
-- the changed users (temp table sim_changed; today's IUF) and the rows of recs.item_vectors of
-- the presents they touched (temp table sim_touched_items) within p_cap users; the other users
-- keep theirs, and the other presents the cap of the run that last wrote them, until the next
-- full run.
-- Arguments: p_cap, the degree cap of this run. Result: none. Errors: bad settings (22P02).
-- Caller: recs.job_refresh_user_similarities.
CREATE OR REPLACE FUNCTION recs.similarity_patch_vectors(p_cap integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM recs.user_vectors v USING sim_changed u WHERE v.user_key = u.user_key;
    PERFORM recs.similarity_write_user_vectors();
    DELETE FROM recs.item_vectors i USING sim_touched_items t WHERE i.item_id = t.item_id;
    INSERT INTO recs.item_vectors (item_id, user_keys, vector_values)
    SELECT t.item_id, present.user_keys, present.vector_values
    FROM sim_touched_items t
    JOIN recs.item_stats s ON s.item_id = t.item_id AND s.users <= p_cap
    CROSS JOIN LATERAL (SELECT array_agg(v.user_key) AS user_keys, array_agg(v.value) AS vector_values
                        FROM recs.user_vectors v WHERE v.item_id = t.item_id) present
    WHERE present.user_keys IS NOT NULL;
END;
$$;
COMMENT ON FUNCTION recs.similarity_patch_vectors(integer) IS
    'Incremental similarity run, step 2: the changed users'' vectors and the touched presents'' rows of vectors.';
