-- api.popular: one page of the most popular available public presents for a demographic segment.
-- Levels, in order: exact (gender + age group), gender only, age group only, global; a level is
-- skipped when the user lacks its attributes or when its gender or its age group has fewer
-- interacting users than the min_segment_users setting (recs.rank_popular). The first remaining level ranks first; when it runs out of
-- matching items the next levels top the page up (no duplicates), down to global, which holds
-- every available public present, so a narrow filter still fills its pages.
-- Filters (all optional) apply before the top-N: categories (p_category and p_categories, any
-- of, less p_exclude_categories; p_segment_category from user_params must hold too), platform,
-- each matched case-insensitively (recs.resolve_filters: a value matching no available present is
-- named in warnings), price range, geo availability (presents without a region list deliver
-- everywhere); the presents in p_exclude are left out.
-- Arguments: p_gender (m, f, male or female in any case, or NULL), p_age_group (NULL or a group of
--   recs.age_groups), p_segment_category,
--   p_geo_id, p_price_from, p_price_to, p_category, p_platform, p_page (>= 1), p_limit (1..1000),
--   p_exclude (present ids, at most 1000), p_categories, p_exclude_categories (NULL: none),
--   p_max_per_category (NULL: no cap; else at most this many presents of one category per page,
--   recs.spread_by_category), p_explain (true: details says why each present is there).
-- Result: one row: items (present ids, page order), total_items (matching the filters, less the
--   excluded), fallback_level (level of the page's first item, else the first level tried),
--   levels_used, data_version, data_as_of, warnings (jsonb array of {field, value, message}),
--   details (with p_explain: recs.explain_page's array; else NULL).
-- Errors: 22023 naming the bad argument.
-- Caller: POST /popular; api.personalized for users without interactions.
CREATE OR REPLACE FUNCTION api.popular(
    p_gender text, p_age_group text, p_segment_category text, p_geo_id integer,
    p_price_from numeric, p_price_to numeric, p_category text, p_platform text,
    p_page integer, p_limit integer, p_exclude uuid[] DEFAULT NULL, p_categories text[] DEFAULT NULL,
    p_exclude_categories text[] DEFAULT NULL, p_max_per_category integer DEFAULT NULL,
    p_explain boolean DEFAULT false
) RETURNS TABLE (items uuid[], total_items bigint, fallback_level text, levels_used text[],
                 data_version bigint, data_as_of timestamptz, warnings jsonb, details jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- One plan per session for its own statements and those of the helpers without a mode of their
-- own (the filters' spellings, the excluded ids, the data version): their shape does not depend on
-- the arguments. What depends on the filters is planned per call in the helpers (recs.rank_popular's
-- global level, recs.count_available's count over the ranking).
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_offset integer;
    v_categories text[];
    v_platforms text[];
    v_exclude integer[];
    v_ranked integer[];
    v_order integer[];
    v_levels text[];
    v_gender text;
    v_age_group text;
BEGIN
    PERFORM recs.check_page_arguments(p_page, p_limit, p_price_from, p_price_to);
    v_gender := recs.gender_of(p_gender, 'gender');
    v_age_group := recs.check_age_group(p_age_group, 'age_group');
    PERFORM recs.check_max_per_category(p_max_per_category);
    details := CASE WHEN p_explain THEN '[]'::jsonb END;
    v_offset := (p_page - 1) * p_limit;
    IF cardinality(p_exclude) > 1000 THEN
        RAISE EXCEPTION 'exclude may hold at most 1000 ids' USING ERRCODE = 'invalid_parameter_value',
            COLUMN = 'exclude';
    END IF;
    SELECT f.categories, f.platforms, f.warnings INTO v_categories, v_platforms, warnings
    FROM recs.resolve_filters(p_category, p_categories, p_exclude_categories, p_platform, p_segment_category) f;
    IF p_exclude IS NOT NULL THEN
        v_exclude := (SELECT array_agg(i.item_id) FROM recs.items i WHERE i.present_id = ANY (p_exclude));
    END IF;

    SELECT v.version, v.as_of INTO data_version, data_as_of FROM recs.data_versions v WHERE v.name = 'popular';
    total_items := recs.count_available(v_categories, v_platforms, p_geo_id, p_price_from, p_price_to, NULL, v_exclude);

    IF v_offset < total_items THEN
        SELECT coalesce(array_agg(r.item_id ORDER BY r.position), '{}'),
               coalesce(array_agg(r.present_id ORDER BY r.position), '{}'),
               coalesce(array_agg(r.level ORDER BY r.position), '{}')
        INTO v_ranked, items, v_levels
        FROM recs.rank_popular(v_gender, v_age_group, v_categories, v_platforms, p_geo_id, p_price_from,
                               p_price_to, v_offset + p_limit + recs.spread_lookahead(p_limit, p_max_per_category),
                               NULL, v_exclude) r;
        IF p_max_per_category IS NOT NULL THEN  -- spread over the pages, before paginating
            v_order := recs.spread_by_category(v_ranked, p_limit, p_max_per_category);
            v_ranked := recs.permute(v_ranked, v_order);
            items := recs.permute(items, v_order);
            v_levels := recs.permute(v_levels, v_order);
        END IF;
        items := items[v_offset + 1:v_offset + p_limit];
        v_levels := v_levels[v_offset + 1:v_offset + p_limit];
        IF p_explain THEN
            details := recs.explain_page(NULL, NULL, NULL, v_gender, v_age_group,
                                         v_ranked[v_offset + 1:v_offset + p_limit], v_levels);
        END IF;
    ELSE
        items := '{}';
        v_levels := '{}';
    END IF;
    levels_used := recs.distinct_in_order(v_levels);
    -- An empty page still says which level would have served: the first one with any present.
    fallback_level := coalesce(v_levels[1], (
        SELECT r.level FROM recs.rank_popular(v_gender, v_age_group, NULL, NULL, NULL, NULL, NULL, 1, NULL, NULL) r));
    RETURN NEXT;
END;
$$;
COMMENT ON FUNCTION api.popular(text, text, text, integer, numeric, numeric, text, text, integer, integer, uuid[], text[], text[], integer, boolean) IS
    'A page of popular public presents for a segment with the exact -> gender -> age group -> global fallback chain, filters (case-insensitive, warnings for unknown values) and exclusions before top-N. Called by POST /popular.';
