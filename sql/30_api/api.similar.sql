-- api.similar: one page of presents like a given one ("people who took this also took"): its
-- item neighbours (recs.item_neighbors, kept by the job refresh_item_neighbors), most similar first; when
-- they run out (a present few people took, or narrow filters), presents of its category by
-- popularity; then every other present by popularity, so pages never end early.
-- Levels, in order: co_liked, same_category, popular. The present itself, the excluded ids and,
-- with p_user_id, everything that user liked or clicked (synced or not yet) or dismissed
-- (recs.dismissed_items) are left out; only available public presents that pass the filters are
-- served.
-- Arguments: p_present_id (a public present); p_user_id (NULL: anonymous); p_geo_id (NULL: the
--   user's stored region, if any), p_price_from, p_price_to, p_category, p_platform (filters,
--   NULL = any; category and platform match case-insensitively, recs.resolve_filters); p_page >= 1;
--   p_limit 1..1000; p_exclude (present ids, at most 1000); p_categories (any of, with
--   p_category), p_exclude_categories; p_max_per_category (NULL: no cap; else at most this many
--   presents of one category per page, recs.spread_by_category); p_explain (true: details says
--   why each present is there); p_read_main (false skips the
--   live read of the user's unsynced events, as the API does while its circuit breaker is open).
-- Result: one row: items (present ids in page order), total_items (available presents matching
--   the filters, minus those left out), fallback_level (level of the page's first item, else
--   the first level with any present), levels_used, fresh_checked, data_as_of, warnings (jsonb
--   array of {field, value, message}: filter values that match no available present), details
--   (with p_explain: recs.explain_page's array; else NULL).
-- Errors: P0002 when p_present_id is not a public present this database knows (a private
--   present gets the same answer as an unknown one); 22023 naming a bad argument.
-- Caller: POST /similar (service/routes/similar.py).
CREATE OR REPLACE FUNCTION api.similar(
    p_present_id uuid, p_user_id uuid, p_geo_id integer, p_price_from numeric, p_price_to numeric,
    p_category text, p_platform text, p_page integer, p_limit integer, p_exclude uuid[],
    p_categories text[] DEFAULT NULL, p_exclude_categories text[] DEFAULT NULL, p_max_per_category integer DEFAULT NULL,
    p_explain boolean DEFAULT false, p_read_main boolean DEFAULT true
) RETURNS TABLE (items uuid[], total_items bigint, fallback_level text, levels_used text[], fresh_checked boolean,
                 data_as_of timestamptz, warnings jsonb, details jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    v_offset integer;
    v_depth integer;
    v_item recs.items;
    v_user_key integer;
    v_gender text;
    v_age_group text;
    v_geo_id integer;
    v_fresh integer[] := '{}';
    v_exclude integer[];
    v_categories text[];
    v_platforms text[];
    v_same_category text[];
    v_ranked integer[] := '{}';  -- the ranking so far, item ids in page order
    v_levels text[] := '{}';     -- the level of each
    v_kinds text[] := '{}';      -- how each was ranked, for details: its level, a popularity level for popular
    v_order integer[];
BEGIN
    PERFORM recs.check_page_arguments(p_page, p_limit, p_price_from, p_price_to);
    IF p_present_id IS NULL THEN
        RAISE EXCEPTION 'present_id is required' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'present_id';
    END IF;
    IF cardinality(p_exclude) > 1000 THEN
        RAISE EXCEPTION 'exclude may hold at most 1000 ids' USING ERRCODE = 'invalid_parameter_value',
            COLUMN = 'exclude';
    END IF;
    SELECT * INTO v_item FROM recs.items i WHERE i.present_id = p_present_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no public present %', p_present_id USING ERRCODE = 'no_data_found', COLUMN = 'present_id';
    END IF;
    PERFORM recs.check_max_per_category(p_max_per_category);
    details := CASE WHEN p_explain THEN '[]'::jsonb END;
    v_offset := (p_page - 1) * p_limit;
    v_depth := v_offset + p_limit + recs.spread_lookahead(p_limit, p_max_per_category);
    SELECT f.categories, f.platforms, f.warnings INTO v_categories, v_platforms, warnings
    FROM recs.resolve_filters(p_category, p_categories, p_exclude_categories, p_platform) f;

    fresh_checked := true;
    IF p_user_id IS NOT NULL THEN
        SELECT u.user_key INTO v_user_key FROM recs.users u WHERE u.user_id = p_user_id;
        SELECT d.gender, d.age_group, d.geo_id INTO v_gender, v_age_group, v_geo_id
        FROM recs.user_demographics d WHERE d.user_key = v_user_key;
        SELECT h.fresh, h.fresh_checked INTO v_fresh, fresh_checked
        FROM recs.user_interactions(p_user_id, v_user_key, coalesce(p_read_main, true)) h;
    END IF;
    v_geo_id := coalesce(p_geo_id, v_geo_id);
    v_exclude := v_item.item_id || coalesce(v_fresh, '{}') || recs.dismissed_items(v_user_key)
                 || coalesce((SELECT array_agg(i.item_id) FROM recs.items i WHERE i.present_id = ANY (p_exclude)), '{}');
    -- The category level keeps the category filter: a present of another category matches nothing there.
    v_same_category := CASE WHEN v_categories IS NULL OR v_item.category = ANY (v_categories) THEN ARRAY[v_item.category]
                            ELSE '{}'::text[] END;

    total_items := recs.count_available(v_categories, v_platforms, v_geo_id, p_price_from, p_price_to,
                                        v_user_key, v_exclude);
    SELECT greatest(max(v.as_of) FILTER (WHERE v.name = 'popular'), max(v.as_of) FILTER (WHERE v.name = 'personalized'))
    INTO data_as_of FROM recs.data_versions v;

    IF v_offset < total_items THEN
        -- Its neighbours, most similar first, checked against the catalogue and filters best
        -- first (one index probe each), stopping once the page is full.
        SELECT coalesce(array_agg(c.item_id ORDER BY c.position), '{}'),
               coalesce(array_agg('co_liked'::text ORDER BY c.position), '{}'),
               coalesce(array_agg('co_liked'::text ORDER BY c.position), '{}')
        INTO v_ranked, v_levels, v_kinds
        FROM (SELECT n.item_id, n.position
              FROM recs.item_neighbors pool
              CROSS JOIN LATERAL unnest(pool.neighbor_ids) WITH ORDINALITY AS n(item_id, position)
              CROSS JOIN LATERAL (SELECT i.* FROM recs.items i WHERE i.item_id = n.item_id OFFSET 0) i
              WHERE pool.item_id = v_item.item_id
                AND i.available
                AND recs.matches_filters(i.category, i.platform, i.price, i.geo_ids,
                                         v_categories, v_platforms, p_price_from, p_price_to, v_geo_id)
                AND n.item_id <> ALL (v_exclude)
                AND NOT EXISTS (SELECT FROM recs.interactions x WHERE x.user_key = v_user_key AND x.item_id = n.item_id)
              ORDER BY n.position
              LIMIT v_depth) c;
        IF cardinality(v_ranked) < v_depth THEN
            SELECT v_ranked || coalesce(array_agg(r.item_id ORDER BY r.position), '{}'),
                   v_levels || coalesce(array_agg('same_category'::text ORDER BY r.position), '{}'),
                   v_kinds || coalesce(array_agg('same_category'::text ORDER BY r.position), '{}')
            INTO v_ranked, v_levels, v_kinds
            FROM recs.rank_popular(v_gender, v_age_group, v_same_category, v_platforms, v_geo_id, p_price_from,
                                   p_price_to, v_depth - cardinality(v_ranked), v_user_key, v_exclude || v_ranked) r;
        END IF;
        IF cardinality(v_ranked) < v_depth THEN
            SELECT v_ranked || coalesce(array_agg(r.item_id ORDER BY r.position), '{}'),
                   v_levels || coalesce(array_agg('popular'::text ORDER BY r.position), '{}'),
                   v_kinds || coalesce(array_agg(r.level ORDER BY r.position), '{}')
            INTO v_ranked, v_levels, v_kinds
            FROM recs.rank_popular(v_gender, v_age_group, v_categories, v_platforms, v_geo_id, p_price_from,
                                   p_price_to, v_depth - cardinality(v_ranked), v_user_key, v_exclude || v_ranked) r;
        END IF;
        IF p_max_per_category IS NOT NULL THEN  -- spread over the pages, before paginating
            v_order := recs.spread_by_category(v_ranked, p_limit, p_max_per_category);
            v_ranked := recs.permute(v_ranked, v_order);
            v_levels := recs.permute(v_levels, v_order);
            v_kinds := recs.permute(v_kinds, v_order);
        END IF;
        SELECT coalesce(array_agg(i.present_id ORDER BY r.page_position), '{}')
        INTO items
        FROM unnest(v_ranked) WITH ORDINALITY AS r(item_id, page_position)
        JOIN recs.items i ON i.item_id = r.item_id
        WHERE r.page_position > v_offset AND r.page_position <= v_offset + p_limit;
        v_levels := v_levels[v_offset + 1:v_offset + p_limit];
        IF p_explain THEN
            details := recs.explain_page(v_user_key, v_fresh, v_item.item_id, v_gender, v_age_group,
                                         v_ranked[v_offset + 1:v_offset + p_limit],
                                         v_kinds[v_offset + 1:v_offset + p_limit]);
        END IF;
    ELSE
        items := '{}';
        v_levels := '{}';
    END IF;
    levels_used := recs.distinct_in_order(v_levels);
    fallback_level := coalesce(v_levels[1], CASE WHEN EXISTS (SELECT FROM recs.item_neighbors n
                                                             WHERE n.item_id = v_item.item_id)
                                                 THEN 'co_liked' ELSE 'same_category' END);
    RETURN NEXT;
END;
$$;
COMMENT ON FUNCTION api.similar(uuid, uuid, integer, numeric, numeric, text, text, integer, integer, uuid[], text[], text[], integer, boolean, boolean) IS
    'A page of presents like a given one: its item neighbours -> its category by popularity -> popularity, filtered, never the present itself, what the user took or the excluded. P0002 for an unknown or private present. Called by POST /similar.';
