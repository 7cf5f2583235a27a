-- api.personalized: one page of presents for a user, from the tier their interaction count
-- chooses (recs.tier_of), topped up by the next tiers when a tier cannot fill the page (no
-- duplicates):
--   collaborative: recs.rank_collaborative (user-kNN, a neighbourhood per present, blended with
--     the item neighbours of the user's presents);
--   content_based: the item neighbours of the user's presents (recs.rank_collaborative, item share 1), then (and
--     as the top-up of collaborative) presents in the categories of the user's presents, priced
--     within content_price_band_factor of theirs (recs.content_profile), ranked by popularity in
--     the user's demographic segment (recs.rank_popular);
--   popular (and the last top-up): the demographic popular ranking (recs.rank_popular).
-- The first two are shrunk towards the global popular ranking by how little other users' data
-- backs the user's presents (recs.popularity_share).
-- A tier is computed only when the ones before it leave the page short, and leaves out what they
-- placed: the same page as ranking every tier to the full depth and keeping each present's first
-- tier.
-- Never returns a present the user liked or clicked, synced or not yet synced (read live from
-- main by recs.user_interactions; if main is unreachable, or p_read_main is false, only synced
-- interactions are excluded and fresh_checked is false), nor one they dismissed (recs.dismissed_items),
-- nor one in p_exclude, nor an unavailable or private one
-- (recs.items holds public ones). Filters apply before the top-N of every tier; categories and
-- platform match case-insensitively (recs.resolve_filters). An unknown user is a user with 0
-- interactions.
-- Arguments: p_user_id; p_geo_id (NULL: the synced profile's); p_price_from, p_price_to,
--   p_category, p_platform (filters, NULL = any); p_page >= 1; p_limit 1..1000; p_exclude
--   (present ids, at most 1000); p_categories (any of, with p_category), p_exclude_categories;
--   p_max_per_category (NULL: no cap; else at most this many presents of one category per page,
--   recs.spread_by_category); p_explain (true: details says why each present is there);
--   p_read_main (default true; false skips the live read of main, as the API does while its
--   circuit breaker is open).
-- Result: one row: items (present ids in page order), total_items (available presents
--   matching the filters, minus the user's, the dismissed and the excluded), algorithm_used (tier of the first
--   item, else the user's tier), tiers_used, fallback_level (popular level of the first popular
--   item), interactions, fresh_checked, data_as_of, warnings (jsonb array of {field, value,
--   message}: filter values that match no available present), details (with p_explain:
--   recs.explain_page's array; else NULL).
-- Errors: 22023 naming the bad argument.
-- Caller: POST /personalized; the offline evaluation.
CREATE OR REPLACE FUNCTION api.personalized(
    p_user_id uuid, p_geo_id integer, p_price_from numeric, p_price_to numeric, p_category text,
    p_platform text, p_page integer, p_limit integer, p_exclude uuid[], p_categories text[] DEFAULT NULL,
    p_exclude_categories text[] DEFAULT NULL, p_max_per_category integer DEFAULT NULL,
    p_explain boolean DEFAULT false, p_read_main boolean DEFAULT true
) RETURNS TABLE (items uuid[], total_items bigint, algorithm_used text, tiers_used text[], fallback_level text,
                 interactions integer, fresh_checked boolean, data_as_of timestamptz, warnings jsonb,
                 details jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- One plan per session for its own statements and those of the helpers without a mode of their
-- own (the user's rows, the page's presents, the settings): their shape does not depend on the
-- arguments, and planning them on every call was a quarter of a popular-tier page's backend CPU
-- at the target scale (2.75 -> 2.03 ms; collaborative 6.6 -> 6.1 ms). What depends on the
-- filters is planned per call in the helpers: recs.rank_popular by its own SET clause,
-- recs.count_available's count over the ranking by EXECUTE.
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_offset integer;
    v_depth integer;
    v_user_key integer;
    v_gender text;
    v_age_group text;
    v_geo_id integer;
    v_fresh integer[];
    v_exclude integer[];
    v_tier text;
    v_popularity_share double precision := 0;  -- the popularity prior's share in the neighbours' rankings
    v_categories text[];
    v_platforms text[];
    v_content record;             -- recs.content_profile: categories, price_from, price_to
    v_ranked integer[] := '{}';  -- the ranking so far, item ids in page order
    v_tiers text[] := '{}';       -- the tier of each
    v_levels text[] := '{}';      -- the popular level of each (NULL outside the popular tier)
    v_order integer[];
BEGIN
    PERFORM recs.check_page_arguments(p_page, p_limit, p_price_from, p_price_to);
    IF p_user_id IS NULL THEN
        RAISE EXCEPTION 'user_id is required' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'user_id';
    END IF;
    IF cardinality(p_exclude) > 1000 THEN
        RAISE EXCEPTION 'exclude may hold at most 1000 ids' USING ERRCODE = 'invalid_parameter_value',
            COLUMN = 'exclude';
    END IF;
    PERFORM recs.check_max_per_category(p_max_per_category);
    details := CASE WHEN p_explain THEN '[]'::jsonb END;
    v_offset := (p_page - 1) * p_limit;
    v_depth := v_offset + p_limit + recs.spread_lookahead(p_limit, p_max_per_category);
    SELECT f.categories, f.platforms, f.warnings INTO v_categories, v_platforms, warnings
    FROM recs.resolve_filters(p_category, p_categories, p_exclude_categories, p_platform) f;

    -- Who: the user's key, demographics and region, history and tier.
    SELECT u.user_key INTO v_user_key FROM recs.users u WHERE u.user_id = p_user_id;
    SELECT d.gender, d.age_group, d.geo_id INTO v_gender, v_age_group, v_geo_id
    FROM recs.user_demographics d WHERE d.user_key = v_user_key;
    v_geo_id := coalesce(p_geo_id, v_geo_id);
    SELECT h.fresh, h.fresh_checked, h.interactions INTO v_fresh, fresh_checked, interactions
    FROM recs.user_interactions(p_user_id, v_user_key, coalesce(p_read_main, true)) h;
    v_exclude := v_fresh || recs.dismissed_items(v_user_key)
                 || coalesce((SELECT array_agg(i.item_id) FROM recs.items i WHERE i.present_id = ANY (p_exclude)), '{}');
    v_tier := recs.tier_of(interactions);

    total_items := recs.count_available(v_categories, v_platforms, v_geo_id, p_price_from, p_price_to,
                                        v_user_key, v_exclude);
    SELECT greatest(max(v.as_of) FILTER (WHERE v.name = 'popular'), max(v.as_of) FILTER (WHERE v.name = 'personalized'))
    INTO data_as_of FROM recs.data_versions v;

    -- The ranking down to the page's last position, tier by tier, each only while the page is short.
    IF v_offset < total_items THEN
        IF v_tier <> 'popular' THEN
            v_popularity_share := recs.popularity_share(v_user_key, v_fresh);
        END IF;
        IF v_tier = 'collaborative' THEN
            v_ranked := recs.rank_collaborative(v_user_key, v_depth, v_categories, v_platforms, p_price_from,
                                                p_price_to, v_geo_id, v_exclude, v_fresh,
                                                recs.setting('collaborative_item_weight')::double precision,
                                                v_popularity_share);
            v_tiers := array_fill('collaborative'::text, ARRAY[cardinality(v_ranked)]);
            v_levels := array_fill(NULL::text, ARRAY[cardinality(v_ranked)]);
        END IF;
        IF v_tier = 'content_based' THEN
            v_ranked := recs.rank_collaborative(v_user_key, v_depth, v_categories, v_platforms, p_price_from,
                                                p_price_to, v_geo_id, v_exclude, v_fresh, 1,  -- items only
                                                v_popularity_share);
            v_tiers := array_fill('content_based'::text, ARRAY[cardinality(v_ranked)]);
            v_levels := array_fill(NULL::text, ARRAY[cardinality(v_ranked)]);
        END IF;
        IF v_tier <> 'popular' AND cardinality(v_ranked) < v_depth THEN
            SELECT * INTO v_content
            FROM recs.content_profile(v_user_key, v_fresh, v_categories, p_price_from, p_price_to);
            IF coalesce(v_content.price_from <= v_content.price_to, true) THEN
                SELECT v_ranked || coalesce(array_agg(r.item_id ORDER BY r.position), '{}'),
                       v_tiers || coalesce(array_agg('content_based'::text ORDER BY r.position), '{}'),
                       v_levels || coalesce(array_agg(NULL::text ORDER BY r.position), '{}')
                INTO v_ranked, v_tiers, v_levels
                FROM recs.rank_popular(v_gender, v_age_group, v_content.categories, v_platforms, v_geo_id,
                                       v_content.price_from, v_content.price_to, v_depth - cardinality(v_ranked),
                                       v_user_key, v_exclude || v_ranked) r;
            END IF;
        END IF;
        IF cardinality(v_ranked) < v_depth THEN
            SELECT v_ranked || coalesce(array_agg(r.item_id ORDER BY r.position), '{}'),
                   v_tiers || coalesce(array_agg('popular'::text ORDER BY r.position), '{}'),
                   v_levels || coalesce(array_agg(r.level ORDER BY r.position), '{}')
            INTO v_ranked, v_tiers, v_levels
            FROM recs.rank_popular(v_gender, v_age_group, v_categories, v_platforms, v_geo_id, p_price_from,
                                   p_price_to, v_depth - cardinality(v_ranked), v_user_key, v_exclude || v_ranked) r;
        END IF;
        IF p_max_per_category IS NOT NULL THEN  -- spread over the pages, before paginating
            v_order := recs.spread_by_category(v_ranked, p_limit, p_max_per_category);
            v_ranked := recs.permute(v_ranked, v_order);
            v_tiers := recs.permute(v_tiers, v_order);
            v_levels := recs.permute(v_levels, v_order);
        END IF;
        -- The page itself.
        SELECT coalesce(array_agg(i.present_id ORDER BY r.page_position), '{}')
        INTO items
        FROM unnest(v_ranked) WITH ORDINALITY AS r(item_id, page_position)
        JOIN recs.items i ON i.item_id = r.item_id
        WHERE r.page_position > v_offset AND r.page_position <= v_offset + p_limit;
        v_tiers := v_tiers[v_offset + 1:v_offset + p_limit];
        v_levels := v_levels[v_offset + 1:v_offset + p_limit];
        IF p_explain THEN  -- a popular-tier present is explained by its level, the others by their tier
            details := recs.explain_page(
                v_user_key, v_fresh, NULL, v_gender, v_age_group, v_ranked[v_offset + 1:v_offset + p_limit],
                ARRAY(SELECT CASE WHEN k.tier = 'popular' THEN k.level ELSE k.tier END
                      FROM unnest(v_tiers, v_levels) WITH ORDINALITY AS k(tier, level, position)
                      ORDER BY k.position));
        END IF;
        v_levels := array_remove(v_levels, NULL);
    ELSE
        items := '{}';
        v_tiers := '{}';
        v_levels := '{}';
    END IF;

    algorithm_used := coalesce(v_tiers[1], v_tier);
    tiers_used := recs.distinct_in_order(v_tiers);
    fallback_level := v_levels[1];
    RETURN NEXT;
END;
$$;
COMMENT ON FUNCTION api.personalized(uuid, integer, numeric, numeric, text, text, integer, integer, uuid[], text[], text[], integer, boolean, boolean) IS
    'A page for a user: collaborative -> content-based -> popular tiers by interaction count, topped up in that order, never what the user liked or clicked (even unsynced) or excluded. Called by POST /personalized.';
