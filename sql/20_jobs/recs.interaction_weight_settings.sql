-- recs.interaction_weight_settings: the settings that weigh an interaction in the similarity
-- vectors (recs.interaction_weight: like_weight, click_weight, similarity_click_cap), as one
-- jsonb value. The similarity job records it with each run, and a run that finds it changed is a
-- full one; the item neighbours depend on it too (recs.item_neighbor_settings).
-- Arguments: none. Result: jsonb {like_weight, click_weight, click_cap}.
-- Errors: bad settings (22P02). Caller: recs.job_refresh_user_similarities, recs.similarity_is_full,
--   recs.item_neighbor_settings.
CREATE OR REPLACE FUNCTION recs.interaction_weight_settings() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'like_weight', recs.setting('like_weight')::double precision,
        'click_weight', recs.setting('click_weight')::double precision,
        'click_cap', recs.setting('similarity_click_cap')::integer);
$$;
COMMENT ON FUNCTION recs.interaction_weight_settings() IS
    'Settings that weigh an interaction in the similarity vectors (a change makes the next similarity run a full one).';
