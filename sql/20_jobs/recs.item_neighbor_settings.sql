-- recs.item_neighbor_settings: the settings the item neighbours depend on, as one jsonb value:
-- their own and the interaction weights (recs.interaction_weight_settings). The job
-- refresh_item_neighbors records it when it recomputes the lists; a run that finds it changed
-- recomputes them. (The interaction weights weigh the user vectors too, so a change of them makes
-- the next similarity run a full one as well. The learned item weights' settings are not among
-- them: a change of those makes the job refresh_learned_weights recompute the weights, not the
-- lists.)
-- Arguments: none. Result: jsonb {pool, user_sample, history_limit, pair_budget, asymmetry,
--   like_weight, click_weight, click_cap}.
-- Errors: bad settings (22P02). Caller: recs.job_refresh_item_neighbors.
CREATE OR REPLACE FUNCTION recs.item_neighbor_settings() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'pool', recs.setting('item_neighbor_pool_size')::integer,
        'user_sample', recs.setting('item_neighbor_user_sample')::integer,
        'history_limit', recs.setting('item_neighbor_history_limit')::integer,
        'pair_budget', recs.setting('item_neighbor_pair_budget')::bigint,
        'asymmetry', recs.setting('item_similarity_asymmetry')::double precision)
        || recs.interaction_weight_settings();
$$;
COMMENT ON FUNCTION recs.item_neighbor_settings() IS
    'Settings the item neighbours depend on (a change makes the job refresh_item_neighbors recompute them).';
