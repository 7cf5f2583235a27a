-- recs.similarity_is_full: whether this similarity run rebuilds every user's neighbour pool
-- rather than the changed users': on the first run, when the working vectors are gone (an
-- unlogged table is empty after a crash), every similarity_full_rebuild_hours, or when a setting
-- the pools depend on changed since the last full run (neighbor_pool_size,
-- similarity_candidate_budget, similarity_item_degree_cap, similarity_iuf,
-- min_interactions_for_similarity, or the interaction weights of
-- recs.interaction_weight_settings).
-- Arguments: p_state, the 'user_similarities' row of recs.sync_state (NULL before the first run).
-- Result: true for a full run. Errors: none. Caller: recs.job_refresh_user_similarities.
CREATE OR REPLACE FUNCTION recs.similarity_is_full(p_state recs.sync_state) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN p_state IS NULL OR p_state.full_synced_at IS NULL
           OR NOT EXISTS (SELECT 1 FROM recs.user_vectors)
           OR p_state.full_synced_at
              < now() - make_interval(hours => recs.setting('similarity_full_rebuild_hours')::integer)
           OR (p_state.details ->> 'pool')::integer
              IS DISTINCT FROM recs.setting('neighbor_pool_size')::integer
           OR (p_state.details ->> 'candidate_budget')::bigint
              IS DISTINCT FROM recs.setting('similarity_candidate_budget')::bigint
           OR (p_state.details ->> 'fixed_degree_cap')::integer
              IS DISTINCT FROM recs.setting('similarity_item_degree_cap')::integer
           OR (p_state.details ->> 'iuf')::boolean IS DISTINCT FROM recs.setting('similarity_iuf')::boolean
           OR (p_state.details ->> 'min_interactions')::integer
              IS DISTINCT FROM recs.setting('min_interactions_for_similarity')::integer
           OR (p_state.details -> 'interaction_weights') IS DISTINCT FROM recs.interaction_weight_settings();
END;
$$;
COMMENT ON FUNCTION recs.similarity_is_full(recs.sync_state) IS
    'Should this similarity run rebuild every pool (first run, vectors lost, period elapsed, pool settings changed)?';
