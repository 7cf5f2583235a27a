-- recs.count_available: how many available public presents match the filters (the size of the
-- whole ranking: the global popularity level holds every available public present).
-- Arguments: as recs.rank_popular's filters; p_exclude_user_key and p_exclude leave out that
--   user's synced interactions and those item ids. Result: the count. Errors: none.
-- Caller: api.popular and api.personalized, for total_pages.
CREATE OR REPLACE FUNCTION recs.count_available(
    p_categories text[], p_platforms text[], p_geo_id integer, p_price_from numeric, p_price_to numeric,
    p_exclude_user_key integer, p_exclude integer[]
) RETURNS bigint
LANGUAGE sql STABLE
SET plan_cache_mode = force_custom_plan AS $$
    SELECT count(*)
    FROM recs.popular_items p
    WHERE p.gender = '*' AND p.age_group = '*'
      AND (p_categories IS NULL OR p.category = ANY (p_categories))
      AND (p_platforms IS NULL OR p.platform = ANY (p_platforms))
      AND (p_price_from IS NULL OR p.price >= p_price_from)
      AND (p_price_to IS NULL OR p.price <= p_price_to)
      AND (p_geo_id IS NULL OR p.geo_ids IS NULL OR p_geo_id = ANY (p.geo_ids))
      AND (p_exclude IS NULL OR p.item_id <> ALL (p_exclude))
      AND (p_exclude_user_key IS NULL OR NOT EXISTS (
              SELECT 1 FROM recs.interactions x WHERE x.user_key = p_exclude_user_key AND x.item_id = p.item_id));
$$;
COMMENT ON FUNCTION recs.count_available(text[], text[], integer, numeric, numeric, integer, integer[]) IS
    'Count of available public presents matching filters and exclusions (for total_pages).';
