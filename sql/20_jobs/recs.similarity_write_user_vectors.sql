-- recs.similarity_write_user_vectors: the unit-length vectors of the users in the temp table
-- sim_changed into recs.user_vectors: value = recs.interaction_weight x IUF / the user's norm, so
-- a cosine is a plain sum of products. Every (user, present) pair gets a row, a user whose
-- weights are all 0 included (value 0): the next incremental run reads a user's previous pairs
-- from here. The caller has removed those users' old rows. With similarity_iuf off (every IUF 1)
-- no interaction is joined to its present (recs.item_stats holds every interacted present, so the
-- rows are the same): the query of a full run at the target scale costs 1.0 s of CPU without the
-- join, 3.5 s with it.
-- Arguments: none. Result: none. Errors: bad settings (22P02).
-- Caller: recs.similarity_rebuild_vectors, recs.similarity_patch_vectors.
CREATE OR REPLACE FUNCTION recs.similarity_write_user_vectors() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_like double precision := recs.setting('like_weight')::double precision;
    v_click double precision := recs.setting('click_weight')::double precision;
    v_click_cap integer := recs.setting('similarity_click_cap')::integer;
    v_iuf boolean := recs.setting('similarity_iuf')::boolean;
BEGIN
    IF NOT v_iuf THEN  -- every IUF is 1: the same values without looking up each present
        INSERT INTO recs.user_vectors (user_key, item_id, value)
        SELECT x.user_key, x.item_id,
               CASE WHEN u.norm > 0 THEN recs.interaction_weight(x.liked_at IS NOT NULL, x.clicks, v_like,
                                                                 v_click, v_click_cap) / u.norm
                    ELSE 0 END
        FROM sim_changed c
        JOIN recs.interactions x ON x.user_key = c.user_key
        JOIN recs.user_stats u ON u.user_key = x.user_key
        ORDER BY x.user_key;
        RETURN;
    END IF;
    INSERT INTO recs.user_vectors (user_key, item_id, value)
    SELECT x.user_key, x.item_id,
           CASE WHEN u.norm > 0 THEN recs.interaction_weight(x.liked_at IS NOT NULL, x.clicks, v_like,
                                                             v_click, v_click_cap) * s.iuf / u.norm
                ELSE 0 END
    FROM sim_changed c
    JOIN recs.interactions x ON x.user_key = c.user_key
    JOIN recs.item_stats s ON s.item_id = x.item_id
    JOIN recs.user_stats u ON u.user_key = x.user_key
    ORDER BY x.user_key;
END;
$$;
COMMENT ON FUNCTION recs.similarity_write_user_vectors() IS
    'The unit-length vectors of the users in temp table sim_changed into recs.user_vectors.';
