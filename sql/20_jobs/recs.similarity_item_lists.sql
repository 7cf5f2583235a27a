-- recs.similarity_item_lists: step 6 of a full similarity run: recs.item_neighbor_lists, each
--   present's item neighbours (recs.item_neighbors) and the presents whose learned regression
--   reads it (recs.item_learned_weights) in one row, with the similarity and the learned weight of
--   each (0 where it is in one list only), so a request reads one row per present of a user's
--   history (recs.item_neighbor_scores). A present without learned weights copies its list.
--   An incremental run keeps the rows, as it keeps the two lists.
-- Arguments: p_full (full run or not).
-- Result: rows written (0 on an incremental run). Errors: none of its own.
-- Caller: recs.job_refresh_user_similarities.
CREATE OR REPLACE FUNCTION recs.similarity_item_lists(p_full boolean) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_rows bigint;
BEGIN
    IF NOT p_full THEN
        RETURN 0;
    END IF;
    DELETE FROM recs.item_neighbor_lists;  -- not TRUNCATE: readers keep the old rows until commit
    INSERT INTO recs.item_neighbor_lists (item_id, neighbor_ids, similarities, learned_weights)
    SELECT n.item_id, n.neighbor_ids, n.similarities,
           array_fill(0::double precision, ARRAY[cardinality(n.neighbor_ids)])
    FROM recs.item_neighbors n
    WHERE NOT EXISTS (SELECT FROM recs.item_learned_weights w WHERE w.item_id = n.item_id)
    UNION ALL
    SELECT w.item_id, merged.neighbor_ids, merged.similarities, merged.learned_weights
    FROM recs.item_learned_weights w
    LEFT JOIN recs.item_neighbors n ON n.item_id = w.item_id
    CROSS JOIN LATERAL (
        SELECT array_agg(coalesce(s.item_id, l.item_id) ORDER BY s.position, l.position) AS neighbor_ids,
               array_agg(coalesce(s.weight, 0) ORDER BY s.position, l.position) AS similarities,
               array_agg(coalesce(l.weight, 0) ORDER BY s.position, l.position) AS learned_weights
        FROM unnest(n.neighbor_ids, n.similarities) WITH ORDINALITY AS s(item_id, weight, position)
        FULL JOIN unnest(w.target_ids, w.weights) WITH ORDINALITY AS l(item_id, weight, position)
            ON l.item_id = s.item_id
    ) merged;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    ANALYZE recs.item_neighbor_lists;
    PERFORM recs.job_step('similarity.item_lists');
    RETURN v_rows;
END;
$$;
COMMENT ON FUNCTION recs.similarity_item_lists(boolean) IS
    'Similarity run, step 6 (full runs): each present''s item neighbours and learned weights in one row of recs.item_neighbor_lists, read by recs.item_neighbor_scores.';
