-- recs.matches_filters: whether a present passes the request filters (NULL filter = any): one
-- of the categories ('' in the list stands for presents without a category, as
-- recs.resolve_filters puts it there when categories are excluded) and platforms, the price range,
-- deliverable to the region (presents without a region list deliver everywhere). A single SQL
-- expression, so the planner inlines it (and folds the '' test away for a given list).
-- Arguments: the present's category, platform, price, geo_ids; then the filters.
-- Result: true when it passes. Errors: none.
-- Caller: recs.rank_popular, recs.rank_collaborative, recs.count_available.
CREATE OR REPLACE FUNCTION recs.matches_filters(
    p_category text, p_platform text, p_price numeric, p_geo_ids integer[],
    p_categories text[], p_platforms text[], p_price_from numeric, p_price_to numeric, p_geo_id integer
) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (p_categories IS NULL OR p_category = ANY (p_categories) OR (p_category IS NULL AND '' = ANY (p_categories)))
       AND (p_platforms IS NULL OR p_platform = ANY (p_platforms))
       AND (p_price_from IS NULL OR p_price >= p_price_from)
       AND (p_price_to IS NULL OR p_price <= p_price_to)
       AND (p_geo_id IS NULL OR p_geo_ids IS NULL OR p_geo_id = ANY (p_geo_ids));
$$;
COMMENT ON FUNCTION recs.matches_filters(text, text, numeric, integer[], text[], text[], numeric, numeric, integer) IS
    'Does a present pass the category/platform/price/region filters (NULL = any)? Inlined into the ranking queries.';
