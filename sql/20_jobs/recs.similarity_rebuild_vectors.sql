-- recs.similarity_rebuild_vectors: step 2 of a full similarity run. Rewrites every vector:
-- recs.user_vectors (millions of rows into an emptied table, its index by user built once after
-- the load) and recs.item_vectors, each present as one row of its candidates and their values,
-- which the neighbour search reads (one row per present rather than an index entry per user: the
-- freshly written table has no visibility map, so each entry would cost a heap visit): every
-- user of a present within p_cap users, else the p_cap users with the largest values (the largest
-- terms of the cosines the present adds to; ties in recs.candidate_hash order).
-- The rows by present come from one sort of the new vectors by present and that order (then
-- numbered and grouped in it; hash aggregation off in the SET clause: 100k groups of arrays
-- outgrow work_mem and spill).
-- Arguments: p_cap, the degree cap of this run. Result: none. Errors: bad settings (22P02).
-- Caller: recs.job_refresh_user_similarities.
CREATE OR REPLACE FUNCTION recs.similarity_rebuild_vectors(p_cap integer) RETURNS void
LANGUAGE plpgsql
SET enable_hashagg = off AS $$
DECLARE
    v_index_definitions text[];
BEGIN
    TRUNCATE recs.user_vectors, recs.item_vectors;
    v_index_definitions := recs.drop_secondary_indexes('recs.user_vectors');
    PERFORM recs.similarity_write_user_vectors();
    PERFORM recs.create_indexes(v_index_definitions);
    INSERT INTO recs.item_vectors (item_id, user_keys, vector_values)
    SELECT c.item_id, array_agg(c.user_key), array_agg(c.value)  -- one pass: the arrays align
    FROM (SELECT v.item_id, v.user_key, v.value,
                 row_number() OVER (PARTITION BY v.item_id
                                    ORDER BY v.value DESC, recs.candidate_hash(v.user_key, v.item_id))
                     AS place
          FROM recs.user_vectors v) c
    WHERE c.place <= p_cap
    GROUP BY c.item_id;
    ANALYZE recs.user_vectors, recs.item_vectors;
END;
$$;
COMMENT ON FUNCTION recs.similarity_rebuild_vectors(integer) IS
    'Full similarity run, step 2: every user vector (indexes built after the load) and every present''s row of candidates (at most the cap, the largest values).';
