-- recs.popularity_score: what one (user, present) interaction adds to the present's popularity:
-- like_weight × recs.decay_weight(like time) when liked, plus popular_click_weight × the decayed click
-- sum (stored in recs.interactions against the same epoch).
-- Arguments: p_liked_at (NULL: not liked), p_click_decay, p_epoch, p_half_life_days,
--   p_like_weight, p_click_weight (the caller reads the settings and the epoch once).
-- Result: the score. Errors: none.
-- Caller: the popularity rebuild and changes (recs.popular_rebuild, recs.popular_apply_changes),
--   recs.sync_add_interactions and recs.erase_users (the changes they log).
CREATE OR REPLACE FUNCTION recs.popularity_score(
    p_liked_at timestamptz, p_click_decay double precision, p_epoch timestamptz,
    p_half_life_days double precision, p_like_weight double precision, p_click_weight double precision
) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_liked_at IS NULL THEN 0
                ELSE p_like_weight * recs.decay_weight(p_liked_at, p_epoch, p_half_life_days) END
           + p_click_weight * p_click_decay;
$$;
COMMENT ON FUNCTION recs.popularity_score(timestamptz, double precision, timestamptz, double precision, double precision, double precision) IS
    'like_weight x decayed like + popular_click_weight x decayed click sum: one interaction''s share of a present''s popularity.';
