-- recs.rank_item_based: a user's ranking by item neighbours alone (recs.item_neighbor_scores over
-- their neighbor_history_limit most recent presents and the unsynced ones), best first, ties by
-- item id. Filters and exclusions apply before the top-N; the user's own presents never appear.
-- Arguments: p_user_key (NULL: only p_fresh); p_fresh (item ids of unsynced interactions, also
--   left out); p_depth (positions wanted); p_categories, p_platforms (NULL = any), p_price_from,
--   p_price_to, p_geo_id (as recs.matches_filters); p_exclude (item ids left out).
-- Result: item ids, best first, at most p_depth ('{}' when no present is scored).
-- Errors: none of its own. Caller: api.personalized (content-based tier).
CREATE OR REPLACE FUNCTION recs.rank_item_based(
    p_user_key integer, p_fresh integer[], p_depth integer, p_categories text[], p_platforms text[],
    p_price_from numeric, p_price_to numeric, p_geo_id integer, p_exclude integer[]
) RETURNS integer[]
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    v_history integer := recs.setting('neighbor_history_limit')::integer;
    v_ranked integer[];
BEGIN
    SELECT coalesce(array_agg(top.item_id ORDER BY top.score DESC, top.item_id), '{}')
    INTO v_ranked
    FROM (
        SELECT c.item_id, c.score
        FROM (SELECT s.item_id, s.score FROM recs.item_neighbor_scores(p_user_key, p_fresh, v_history,
                                                  recs.setting('item_history_half_life')::double precision) s
              ORDER BY 2 DESC, 1 OFFSET 0) c
        -- One index probe per candidate, best first, stopping once the page is full (as
        -- recs.rank_collaborative).
        CROSS JOIN LATERAL (SELECT i.* FROM recs.items i WHERE i.item_id = c.item_id OFFSET 0) i
        WHERE i.available
          AND recs.matches_filters(i.category, i.platform, i.price, i.geo_ids,
                                   p_categories, p_platforms, p_price_from, p_price_to, p_geo_id)
          AND i.item_id <> ALL (p_exclude)
          AND i.item_id <> ALL (p_fresh)
          AND NOT EXISTS (SELECT 1 FROM recs.interactions y
                          WHERE y.user_key = p_user_key AND y.item_id = c.item_id)
        ORDER BY c.score DESC, c.item_id
        LIMIT p_depth
    ) top;
    RETURN v_ranked;
END;
$$;
COMMENT ON FUNCTION recs.rank_item_based(integer, integer[], integer, text[], text[], numeric, numeric, integer, integer[]) IS
    'A user''s ranking by item neighbours of their recent presents, filtered, best first. Used by api.personalized (content-based tier).';
