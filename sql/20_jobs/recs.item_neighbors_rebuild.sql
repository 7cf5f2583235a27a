-- recs.item_neighbors_rebuild: the item neighbours, recomputed. Rewrites recs.user_histories
--   (every user's p_history most recent interactions; events at the same time ordered by a hash
--   of the present, a sample rather than an order), the presents' lengths over them
--   (recs.item_history_norms) and the histories' weights divided by the length term of the
--   similarity (neighbor_weights), then ranks every present with users (recs.item_stats, as the
--   last similarity run left it) by recs.item_neighbor_list, in a parallel scan of recs.item_stats
--   by the job's backend and p_workers parallel workers (as recs.similarity_rank_all), into the
--   emptied recs.item_neighbors.
-- Arguments: p_workers (parallel workers), p_history (interactions read per user,
--   recs.item_history_cap).
-- Result: presents whose neighbours were computed. Errors: bad settings (22P02).
-- Caller: recs.job_refresh_item_neighbors.
CREATE OR REPLACE FUNCTION recs.item_neighbors_rebuild(p_workers integer, p_history integer)
RETURNS bigint
LANGUAGE plpgsql
SET work_mem = '4MB'
SET max_parallel_workers_per_gather = 0
SET parallel_setup_cost = 0
SET parallel_tuple_cost = 0
SET min_parallel_table_scan_size = 0 AS $$
DECLARE
    v_pool integer := recs.setting('item_neighbor_pool_size')::integer;
    v_sample integer := recs.setting('item_neighbor_user_sample')::integer;
    v_asymmetry double precision := recs.setting('item_similarity_asymmetry')::double precision;
    v_like double precision := recs.setting('like_weight')::double precision;
    v_click double precision := recs.setting('click_weight')::double precision;
    v_click_cap integer := recs.setting('similarity_click_cap')::integer;
    v_items bigint;
BEGIN
    TRUNCATE recs.user_histories, recs.item_history_norms;
    -- One statement: the recent interactions stay in memory (a CTE read twice), the presents'
    -- lengths are written from them and joined back for each history's neighbor_weights.
    WITH recent AS MATERIALIZED (
        SELECT r.user_key, r.item_id, r.recent, r.weight / r.norm AS weight, r.norm
        FROM (SELECT w.*, sqrt(sum(w.weight ^ 2) OVER (PARTITION BY w.user_key)) AS norm
              FROM (SELECT x.user_key, x.item_id,
                           recs.interaction_weight(x.liked_at IS NOT NULL, x.clicks, v_like, v_click, v_click_cap)
                               AS weight,
                           row_number() OVER (PARTITION BY x.user_key ORDER BY x.last_at DESC, hashint4(x.item_id))
                               AS recent
                    FROM recs.interactions x
                    ) w
              WHERE w.recent <= p_history) r
        WHERE r.norm > 0
    ), norms AS (
        INSERT INTO recs.item_history_norms (item_id, squared)
        SELECT r.item_id, sum(r.weight ^ 2) FROM recent r GROUP BY r.item_id
        RETURNING item_id, squared
    )
    -- The arrays take the rows in the order of the subquery (one sort by user and place) rather
    -- than each sorting its own: ORDER BY inside an aggregate is a sort per user and array.
    INSERT INTO recs.user_histories (user_key, item_ids, weights, norm, neighbor_weights)
    SELECT h.user_key, array_agg(h.item_id), array_agg(h.weight), min(h.norm), array_agg(h.neighbor_weight)
    FROM (SELECT r.user_key, r.item_id, r.weight, r.norm,
                 CASE WHEN n.squared > 0 THEN r.weight / n.squared ^ (1 - v_asymmetry) ELSE 0 END AS neighbor_weight
          FROM recent r JOIN norms n ON n.item_id = r.item_id
          ORDER BY r.user_key, r.recent) h
    GROUP BY h.user_key;
    ANALYZE recs.user_histories, recs.item_history_norms;
    PERFORM recs.job_step('items.user_histories');

    PERFORM set_config('max_parallel_workers_per_gather', greatest(p_workers, 0)::text, true);
    CREATE TEMP TABLE sim_item_lists ON COMMIT DROP AS
    SELECT s.item_id, list.neighbor_ids, list.similarities
    FROM recs.item_stats s
    CROSS JOIN LATERAL recs.item_neighbor_list(s.item_id, v_pool, v_sample, v_asymmetry, v_like, v_click,
                                               v_click_cap) list
    WHERE list.neighbor_ids IS NOT NULL;
    PERFORM set_config('max_parallel_workers_per_gather', '0', true);
    DELETE FROM recs.item_neighbors;
    INSERT INTO recs.item_neighbors (item_id, neighbor_ids, similarities)
    SELECT l.item_id, l.neighbor_ids, l.similarities FROM sim_item_lists l ORDER BY l.item_id;
    GET DIAGNOSTICS v_items = ROW_COUNT;
    DROP TABLE sim_item_lists;
    ANALYZE recs.item_neighbors;
    PERFORM recs.job_step('items.neighbors');
    RETURN v_items;
END;
$$;
COMMENT ON FUNCTION recs.item_neighbors_rebuild(integer, integer) IS
    'The users'' recent histories and the item neighbours of every present, recomputed (a step of the job refresh_item_neighbors).';
