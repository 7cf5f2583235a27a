-- recs.similarity_item_learned: step 5 of a full similarity run, the learned item weights.
--   For each of the item_learned_presents presents with the most users that have item neighbours
--   (the target j), its regressors R are the first item_learned_neighbors presents of its list;
--   b = (G_RR + λI)⁻¹ G_Rj with G the co-occurrences Σ_u x_ua x_ub over the users' histories
--   (recs.user_histories, as the item neighbours read them; x the interaction weight) and λ =
--   item_learned_ridge: EASE restricted to the neighbours. The co-occurrences are counted once
--   for every pair of presents that some solve reads, the systems built in one join, each solved
--   by recs.cholesky_solve; recs.item_learned_weights is rewritten with the transpose (per
--   regressor i, the targets j and b_ij, at most item_neighbor_pool_size of them, the largest
--   |b_ij|), which recs.item_neighbor_scores reads.
--   Only the pairs some solve reads are kept (recs.similarity_learned_pairs: at the target scale
--   115k of the 2.8M pairs of presents that share a user), so the sum has far fewer groups and
--   its key index far fewer entries.
--   An incremental run keeps the weights, as it keeps the lists they are computed from.
-- Arguments: p_full (full run or not).
-- Result: presents solved (0 on an incremental run). Errors: bad settings (22P02).
-- Caller: recs.job_refresh_user_similarities.
CREATE OR REPLACE FUNCTION recs.similarity_item_learned(p_full boolean) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_neighbors integer := recs.setting('item_learned_neighbors')::integer;
    v_ridge double precision := recs.setting('item_learned_ridge')::double precision;
    v_presents integer := recs.setting('item_learned_presents')::integer;
    v_pool integer := recs.setting('item_neighbor_pool_size')::integer;
    v_solved bigint;
BEGIN
    IF NOT p_full THEN
        RETURN 0;
    END IF;
    DELETE FROM recs.item_learned_weights;  -- not TRUNCATE: readers keep the old rows until commit
    IF v_neighbors = 0 OR v_presents = 0 THEN
        PERFORM recs.job_step('similarity.item_learned');
        RETURN 0;
    END IF;
    CREATE TEMP TABLE learned_targets ON COMMIT DROP AS
    SELECT n.item_id, n.neighbor_ids[1:v_neighbors] AS regressors
    FROM recs.item_neighbors n
    JOIN recs.item_stats s ON s.item_id = n.item_id
    ORDER BY s.users DESC, n.item_id
    LIMIT v_presents;
    -- The histories' entries for the presents some solve reads, then their co-occurrences.
    CREATE TEMP TABLE learned_entries ON COMMIT DROP AS
    SELECT h.user_key, e.item_id, e.weight * h.norm AS weight
    FROM recs.user_histories h
    CROSS JOIN LATERAL unnest(h.item_ids, h.weights) AS e(item_id, weight)
    WHERE e.item_id IN (SELECT t.item_id FROM learned_targets t
                        UNION
                        SELECT r.item_id FROM learned_targets t CROSS JOIN LATERAL unnest(t.regressors) AS r(item_id));
    ANALYZE learned_entries;
    PERFORM recs.similarity_learned_pairs();  -- the pairs the systems read, summed
    ANALYZE learned_pairs;
    PERFORM recs.job_step('similarity.item_learned_pairs');

    -- Each system: the lower triangle of G_RR + λI packed by rows, and G_Rj.
    CREATE TEMP TABLE learned_solved ON COMMIT DROP AS
    SELECT t.item_id, t.regressors,
           recs.cholesky_solve(
               (SELECT array_agg(coalesce(p.together, 0) + CASE WHEN r.n = c.n THEN v_ridge ELSE 0 END
                                 ORDER BY r.n, c.n)
                FROM unnest(t.regressors) WITH ORDINALITY AS r(item_id, n)
                JOIN unnest(t.regressors) WITH ORDINALITY AS c(item_id, n) ON c.n <= r.n
                LEFT JOIN learned_pairs p
                    ON p.low_id = least(r.item_id, c.item_id) AND p.high_id = greatest(r.item_id, c.item_id)),
               (SELECT array_agg(coalesce(p.together, 0) ORDER BY r.n)
                FROM unnest(t.regressors) WITH ORDINALITY AS r(item_id, n)
                LEFT JOIN learned_pairs p
                    ON p.low_id = least(r.item_id, t.item_id) AND p.high_id = greatest(r.item_id, t.item_id))
           ) AS weights
    FROM learned_targets t;
    GET DIAGNOSTICS v_solved = ROW_COUNT;
    PERFORM recs.job_step('similarity.item_learned_solved');

    -- Per regressor at most item_neighbor_pool_size targets, the largest weights by size: a
    -- present that many regressions read (a popular one) costs a request no more than its list.
    INSERT INTO recs.item_learned_weights (item_id, target_ids, weights)
    SELECT w.item_id, array_agg(w.target_id ORDER BY w.weight DESC, w.target_id),
           array_agg(w.weight ORDER BY w.weight DESC, w.target_id)
    FROM (SELECT r.item_id, s.item_id AS target_id, r.weight,
                 row_number() OVER (PARTITION BY r.item_id ORDER BY abs(r.weight) DESC, s.item_id) AS rank
          FROM learned_solved s
          CROSS JOIN LATERAL unnest(s.regressors, s.weights) AS r(item_id, weight)
          WHERE r.weight <> 0) w
    WHERE w.rank <= v_pool
    GROUP BY w.item_id
    ORDER BY w.item_id;
    DROP TABLE learned_targets, learned_entries, learned_pairs, learned_solved;
    ANALYZE recs.item_learned_weights;
    PERFORM recs.job_step('similarity.item_learned');
    RETURN v_solved;
END;
$$;
COMMENT ON FUNCTION recs.similarity_item_learned(boolean) IS
    'Similarity run, step 5 (full runs): learned item weights, a small ridge regression of each present on its item neighbours, written transposed to recs.item_learned_weights.';
