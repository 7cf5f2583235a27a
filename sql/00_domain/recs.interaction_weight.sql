-- recs.interaction_weight: how much one (user, present) interaction says about the user's taste:
-- like_weight for a like plus click_weight per click, clicks capped at similarity_click_cap.
-- Arguments: p_liked (liked or not), p_clicks, then the three settings (read once by the caller).
-- Result: the weight. Errors: none. Caller: the similarity job (norms and vectors).
CREATE OR REPLACE FUNCTION recs.interaction_weight(
    p_liked boolean, p_clicks integer, p_like_weight double precision, p_click_weight double precision,
    p_click_cap integer
) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_liked THEN p_like_weight ELSE 0 END + least(p_clicks, p_click_cap) * p_click_weight;
$$;
COMMENT ON FUNCTION recs.interaction_weight(boolean, integer, double precision, double precision, integer) IS
    'like_weight * liked + click_weight * min(clicks, cap): the weight of one user-present interaction.';
