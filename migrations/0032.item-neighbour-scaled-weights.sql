-- The item neighbours read each present's column length |j|^(2(1 - a)) from the sampled users'
-- histories instead of one index probe of recs.item_history_norms per candidate present (about
-- 17 million probes in a full run at the target scale): recs.user_histories keeps each weight
-- also divided by that power (neighbor_weights), written by the full similarity run once the
-- lengths are known. Rows written before this column existed have none until the next full run,
-- the only run that reads it.
ALTER TABLE recs.user_histories ADD COLUMN neighbor_weights double precision[];
COMMENT ON TABLE recs.user_histories IS
    'Per user: their item_neighbor_history_limit most recent presents (item_ids) and interaction weights divided by norm (weights, same order); norm is the length of the weight vector; neighbor_weights, each weight also divided by its present''s recs.item_history_norms.squared ^ (1 - item_similarity_asymmetry) (0 where that is 0). Working table of the similarity job for item neighbours (unlogged: rebuilt after a crash).';
