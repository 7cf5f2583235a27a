-- recs.item_neighbor_list: one present's neighbours, the p_pool presents most taken by the same
-- users, as one row of arrays, most similar first. The similarity of the present i to j is
-- dot(i, j) / (|i|^(2a) * |j|^(2(1 - a))) with a = p_asymmetry, over the interaction weights
-- (each user's divided by the length of their weight vector) of a sample: i's p_user_sample most
-- recent users (ties by a hash of the user, not by an order the events do not have) whose recent
-- history (recs.user_histories) still holds it, each through that history. |i| is taken on the same sample
-- as the dot product, so their ratio estimates the whole; |j|^2 comes from
-- recs.item_history_norms (every user's history), already divided out of the histories' weights
-- (recs.user_histories.neighbor_weights: w / |j|^(2(1 - a)), so dot(i, j) / |j|^(2(1 - a)) is their
-- plain sum of products and no present is looked up per candidate).
-- PL/pgSQL, PARALLEL SAFE and run once per present, as recs.neighbor_pool (see there why).
-- The histories are paired in the select list (two unnests in step, a ProjectSet) rather than by
-- a LATERAL unnest in FROM, a function scan set up again for every sampled user, and the arrays
-- take the rows in the order of the top-N sort: together about a fifth less CPU (5,000 presents
-- at the target scale, the same lists).
-- Arguments: p_item_id; p_pool (neighbours kept); p_user_sample (users read); p_asymmetry (a, 0..1);
--   p_like, p_click, p_click_cap (recs.interaction_weight's settings, read once by the caller).
-- Result: one row (neighbor_ids, similarities), both NULL when no user shares the present.
-- Errors: none of its own. Caller: recs.item_neighbors_rebuild.
CREATE OR REPLACE FUNCTION recs.item_neighbor_list(
    p_item_id integer, p_pool integer, p_user_sample integer, p_asymmetry double precision,
    p_like double precision, p_click double precision, p_click_cap integer
) RETURNS TABLE (neighbor_ids integer[], similarities double precision[])
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 1
SET max_parallel_workers_per_gather = 0 AS $$
BEGIN
    RETURN QUERY
    WITH sampled AS MATERIALIZED (
        SELECT r.weight / h.norm AS weight, h.item_ids, h.neighbor_weights
        FROM (SELECT x.user_key,
                     recs.interaction_weight(x.liked_at IS NOT NULL, x.clicks, p_like, p_click, p_click_cap) AS weight
              FROM recs.interactions x
              WHERE x.item_id = p_item_id
              ORDER BY x.last_at DESC, hashint4(x.user_key)
              LIMIT p_user_sample) r
        JOIN recs.user_histories h ON h.user_key = r.user_key
        WHERE r.weight > 0 AND p_item_id = ANY (h.item_ids)  -- the pairs within their recent history
    ), own_norm AS (
        SELECT sum(s.weight ^ 2) AS squared FROM sampled s
    )
    SELECT array_agg(best.item_id), array_agg(best.similarity)  -- in the subquery's order
    FROM (SELECT pair.item_id, pair.dot / n.squared ^ p_asymmetry AS similarity
          FROM (SELECT t.item_id, sum(t.own_weight * t.weight) AS dot
                FROM (SELECT s.weight AS own_weight, unnest(s.item_ids) AS item_id,
                             unnest(s.neighbor_weights) AS weight
                      FROM sampled s) t
                WHERE t.item_id <> p_item_id
                GROUP BY t.item_id) pair
          CROSS JOIN own_norm n
          WHERE pair.dot > 0 AND n.squared > 0
          ORDER BY 2 DESC, 1
          LIMIT p_pool) best;
END;
$$;
COMMENT ON FUNCTION recs.item_neighbor_list(integer, integer, integer, double precision, double precision, double precision, integer) IS
    'The p_pool presents most taken by the users of one present, with asymmetric cosines, as arrays (a bounded sample of users and histories). Used by the job refresh_item_neighbors.';
