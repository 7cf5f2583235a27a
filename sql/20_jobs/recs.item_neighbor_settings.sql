-- recs.item_neighbor_settings: the settings the item neighbours depend on, as one jsonb value.
-- The similarity job records it with each run; a run that finds it changed is a full one.
-- The interaction weights (like_weight, click_weight, similarity_click_cap) weigh the user
-- vectors too, so a change of them rebuilds the user pools as well.
-- (The learned item weights' settings are not among them: a change of those makes the job
-- refresh_learned_weights recompute the weights, not the lists.)
-- Arguments: none. Result: jsonb {pool, user_sample, history_limit, pair_budget, asymmetry,
--   like_weight, click_weight, click_cap}.
-- Errors: bad settings (22P02). Caller: recs.job_refresh_user_similarities, recs.similarity_is_full.
CREATE OR REPLACE FUNCTION recs.item_neighbor_settings() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'pool', recs.setting('item_neighbor_pool_size')::integer,
        'user_sample', recs.setting('item_neighbor_user_sample')::integer,
        'history_limit', recs.setting('item_neighbor_history_limit')::integer,
        'pair_budget', recs.setting('item_neighbor_pair_budget')::bigint,
        'asymmetry', recs.setting('item_similarity_asymmetry')::double precision,
        'like_weight', recs.setting('like_weight')::double precision,
        'click_weight', recs.setting('click_weight')::double precision,
        'click_cap', recs.setting('similarity_click_cap')::integer);
$$;
COMMENT ON FUNCTION recs.item_neighbor_settings() IS
    'Settings the item neighbours and the user vectors depend on (a change makes the next similarity run a full one).';
