-- recs.item_history_cap: how many of each user's most recent interactions the item neighbours
-- read (recs.user_histories). A user with a history of h contributes up to h^2 pairs of presents,
-- so the cap is the largest of item_neighbor_history_limit and a ladder below it (500, 200, 100,
-- 50, 20, 10, 5, 2, 1) whose Σ over users of min(interactions, cap)^2 stays within
-- item_neighbor_pair_budget: small catalogues read whole histories, large ones the recent part,
-- with the time of a run bounded by the budget. Reads recs.user_stats (current for this run).
-- Arguments: none. Result: the cap (at least 1). Errors: bad settings (22P02).
-- Caller: recs.job_refresh_item_neighbors; tools/evaluate.py (the limits it reports).
CREATE OR REPLACE FUNCTION recs.item_history_cap() RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT coalesce(max(c.cap), 1)
    FROM unnest(ARRAY[recs.setting('item_neighbor_history_limit')::integer, 500, 200, 100, 50, 20, 10, 5, 2, 1])
        AS c(cap)
    WHERE c.cap <= recs.setting('item_neighbor_history_limit')::integer
      AND (SELECT coalesce(sum(least(s.interactions, c.cap)::numeric ^ 2), 0) FROM recs.user_stats s)
          <= recs.setting('item_neighbor_pair_budget')::numeric;
$$;
COMMENT ON FUNCTION recs.item_history_cap() IS
    'Interactions per user the item neighbours read: the largest cap within item_neighbor_history_limit whose pairs stay within item_neighbor_pair_budget.';
