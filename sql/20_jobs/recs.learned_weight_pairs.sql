-- recs.learned_weight_pairs: the co-occurrences the learned item weights' systems read, into
-- the temp table learned_pairs (low_id, high_id, together = Σ_u x_ua x_ub): each target's
-- regressors with each other and with the target, from the temp tables learned_targets and
-- learned_entries. The products of the histories' join are filtered against those pairs before
-- they are summed (at the target scale 115k of the 2.8M pairs of presents that share a user), so
-- the sum has far fewer groups. OFFSET 0 keeps the join whole, so the filter probes its products;
-- sorting is off (the SET clause) so they reach a hash aggregate in the join's order, as they did
-- when every pair was summed.
-- Arguments: none. Result: none (the temp table, with its primary key).
-- Errors: none of its own. Caller: recs.job_refresh_learned_weights.
CREATE OR REPLACE FUNCTION recs.learned_weight_pairs() RETURNS void
LANGUAGE plpgsql
SET enable_sort = off AS $$
BEGIN
    CREATE TEMP TABLE learned_pairs ON COMMIT DROP AS
    SELECT p.low_id, p.high_id, sum(p.product) AS together
    FROM (SELECT a.item_id AS low_id, b.item_id AS high_id, a.weight * b.weight AS product
          FROM learned_entries a
          JOIN learned_entries b ON b.user_key = a.user_key AND b.item_id >= a.item_id
          OFFSET 0) p
    WHERE (p.low_id, p.high_id) IN (
        SELECT least(r.item_id, c.item_id), greatest(r.item_id, c.item_id)
        FROM learned_targets t
        CROSS JOIN LATERAL unnest(t.regressors) WITH ORDINALITY AS r(item_id, n)
        CROSS JOIN LATERAL (SELECT c.item_id FROM unnest(t.regressors) WITH ORDINALITY AS c(item_id, n)
                            WHERE c.n <= r.n
                            UNION ALL
                            SELECT t.item_id) c)
    GROUP BY p.low_id, p.high_id;
    ALTER TABLE learned_pairs ADD PRIMARY KEY (low_id, high_id);
END;
$$;
COMMENT ON FUNCTION recs.learned_weight_pairs() IS
    'Learned item weights: the co-occurrences their systems read, into temp table learned_pairs. Used by recs.job_refresh_learned_weights.';
