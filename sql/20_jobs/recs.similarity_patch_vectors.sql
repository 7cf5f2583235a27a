-- recs.similarity_patch_vectors: step 2 of an incremental similarity run. Rewrites the vectors of
-- the changed users (temp table sim_changed; today's IUF) and the rows of recs.item_vectors of
-- the presents they touched (temp table sim_touched_items); the other users keep theirs, and the
-- other presents their rows, until the next full run. A touched present's row is patched from
-- its previous row: the changed users' entries leave, their new vectors (read by user, a few
-- rows each) join, the other users' entries stay as they were (what recs.user_vectors holds for
-- them), and the p_cap with the largest values are kept (ties in recs.candidate_hash order), as
-- a full run chooses them. A row misses a user the full run would keep only where a kept user
-- left the present or the cap grew (a few entries, until the next full run). Only a present
-- without a previous row whose users are not all changed is read whole (its users from
-- recs.interactions, their vectors by user). Reading every touched present's users from
-- recs.user_vectors by present cost a heap visit per entry (the table has no visibility map
-- after a full run) and an index by present on the table.
-- Arguments: p_cap, the degree cap of this run. Result: none. Errors: bad settings (22P02).
-- Caller: recs.job_refresh_user_similarities.
CREATE OR REPLACE FUNCTION recs.similarity_patch_vectors(p_cap integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM recs.user_vectors v USING sim_changed u WHERE v.user_key = u.user_key;
    PERFORM recs.similarity_write_user_vectors();
    -- The touched presents that still have users, with the previous row when there is one.
    CREATE TEMP TABLE sim_patched_items ON COMMIT DROP AS
    SELECT t.item_id, i.user_keys, i.vector_values, (i.item_id IS NULL AND s.users > t.change) AS reread
    FROM sim_touched_items t
    JOIN recs.item_stats s ON s.item_id = t.item_id
    LEFT JOIN recs.item_vectors i ON i.item_id = t.item_id;
    ANALYZE sim_patched_items;  -- a few presents to reread: probes of the present's index, not a scan
    DELETE FROM recs.item_vectors i USING sim_touched_items t WHERE i.item_id = t.item_id;
    INSERT INTO recs.item_vectors (item_id, user_keys, vector_values)
    SELECT e.item_id, array_agg(e.user_key), array_agg(e.value)  -- one pass: the arrays align
    FROM (SELECT c.item_id, c.user_key, c.value,
                 row_number() OVER (PARTITION BY c.item_id
                                    ORDER BY c.value DESC, recs.candidate_hash(c.user_key, c.item_id))
                     AS place
          FROM (SELECT p.item_id, o.user_key, o.value  -- the unchanged users' entries of the previous row
                FROM sim_patched_items p
                CROSS JOIN LATERAL unnest(p.user_keys, p.vector_values) AS o(user_key, value)
                WHERE NOT p.reread AND NOT EXISTS (SELECT FROM sim_changed c WHERE c.user_key = o.user_key)
                UNION ALL
                SELECT v.item_id, v.user_key, v.value  -- the changed users' new vectors
                FROM sim_changed c
                JOIN recs.user_vectors v ON v.user_key = c.user_key
                JOIN sim_patched_items p ON p.item_id = v.item_id AND NOT p.reread
                UNION ALL
                SELECT p.item_id, v.user_key, v.value  -- a present without a row: all its users
                FROM sim_patched_items p
                JOIN recs.interactions x ON x.item_id = p.item_id
                JOIN recs.user_vectors v ON v.user_key = x.user_key AND v.item_id = p.item_id
                WHERE p.reread) c) e
    WHERE e.place <= p_cap
    GROUP BY e.item_id;
    DROP TABLE sim_patched_items;
END;
$$;
COMMENT ON FUNCTION recs.similarity_patch_vectors(integer) IS
    'Incremental similarity run, step 2: the changed users'' vectors and the touched presents'' rows of candidates (patched from their previous rows, the same choice of users).';
