-- api.facets: what the filters can take, for a filter UI: the categories and platforms of the
-- available public presents with how many presents each has (most first), and the quantiles of
-- their prices. Read from the popularity job's counts (recs.popular_filter_counts) and its
-- global ranking (every available public present), so it changes with each popularity refresh.
-- Arguments: none.
-- Result: one row: categories, platforms (jsonb arrays of {name, presents}; presents without a
--   category or platform are counted in available_presents only), prices (jsonb {min, p10, p25,
--   p50, p75, p90, max}, null without priced presents), available_presents, data_version (the
--   popular version it was read at), data_as_of.
-- Errors: none. Caller: GET /facets (cached per popular data version).
CREATE OR REPLACE FUNCTION api.facets()
RETURNS TABLE (categories jsonb, platforms jsonb, prices jsonb, available_presents bigint, data_version bigint,
               data_as_of timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT
        (SELECT coalesce(jsonb_agg(jsonb_build_object('name', c.category, 'presents', c.presents)
                                   ORDER BY c.presents DESC, c.category), '[]')
         FROM recs.popular_filter_counts c WHERE c.platform = '*' AND c.category <> '*'),
        (SELECT coalesce(jsonb_agg(jsonb_build_object('name', c.platform, 'presents', c.presents)
                                   ORDER BY c.presents DESC, c.platform), '[]')
         FROM recs.popular_filter_counts c WHERE c.category = '*' AND c.platform <> '*'),
        (SELECT CASE WHEN count(p.price) > 0 THEN jsonb_build_object(
                    'min', min(p.price),
                    'p10', percentile_disc(0.1) WITHIN GROUP (ORDER BY p.price),
                    'p25', percentile_disc(0.25) WITHIN GROUP (ORDER BY p.price),
                    'p50', percentile_disc(0.5) WITHIN GROUP (ORDER BY p.price),
                    'p75', percentile_disc(0.75) WITHIN GROUP (ORDER BY p.price),
                    'p90', percentile_disc(0.9) WITHIN GROUP (ORDER BY p.price),
                    'max', max(p.price)) END
         FROM recs.popular_items p WHERE p.gender = '*' AND p.age_group = '*'),
        (SELECT coalesce(sum(c.presents), 0)::bigint FROM recs.popular_filter_counts c
         WHERE c.category = '*' AND c.platform = '*'),
        v.version, v.as_of
    FROM recs.data_versions v WHERE v.name = 'popular';
$$;
COMMENT ON FUNCTION api.facets() IS
    'Categories and platforms of the available public presents with counts, and price quantiles (for filter UIs). Called by GET /facets.';
