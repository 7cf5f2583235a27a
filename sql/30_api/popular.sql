-- api.popular: one page of the most popular available public presents for a demographic segment.
-- Levels, in order: exact (gender + age group), gender only, age group only, global; a level is
-- skipped when the user lacks its attributes or its segment has fewer interacting users than
-- the min_segment_users setting. The first remaining level ranks first; when it runs out of
-- matching items the next levels top the page up (no duplicates), down to global, which holds
-- every available public present, so a narrow filter still fills its pages.
-- Filters (all optional) apply before the top-N: category (p_segment_category from user_params
-- and p_category from filters; both given and different = nothing matches), price range,
-- platform, geo availability (presents without a region list deliver everywhere).
-- Arguments: p_gender ('m'/'f'/NULL), p_age_group (NULL or a group), p_segment_category,
--   p_geo_id, p_price_from, p_price_to, p_category, p_platform, p_page (>= 1), p_limit (1..1000).
-- Result: one row: items (present ids, page order), total_items (matching the filters),
--   fallback_level (level of the page's first item, else the first level tried), levels_used,
--   data_version, data_as_of.
-- Errors: 22023 naming the bad argument.
-- Caller: POST /popular; api.personalized for users without interactions.
CREATE OR REPLACE FUNCTION api.popular(
    p_gender text, p_age_group text, p_segment_category text, p_geo_id integer,
    p_price_from numeric, p_price_to numeric, p_category text, p_platform text,
    p_page integer, p_limit integer
) RETURNS TABLE (items uuid[], total_items bigint, fallback_level text, levels_used text[],
                 data_version bigint, data_as_of timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    v_min_users integer := recs.setting('min_segment_users')::integer;
    v_category text := coalesce(p_category, p_segment_category);
    v_offset bigint := (p_page::bigint - 1) * p_limit;
    v_level_names text[] := '{}';
    v_genders text[] := '{}';
    v_age_groups text[] := '{}';
BEGIN
    IF p_page IS NULL OR p_page < 1 THEN
        RAISE EXCEPTION 'page must be >= 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION 'limit must be between 1 and 1000' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_price_from < 0 OR p_price_to < 0 THEN
        RAISE EXCEPTION 'price_from and price_to must be >= 0' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_price_from > p_price_to THEN
        RAISE EXCEPTION 'price_from must be <= price_to' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_gender IS NOT NULL AND p_gender NOT IN ('m', 'f') THEN
        RAISE EXCEPTION 'gender must be m or f' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_age_group IS NOT NULL AND p_age_group NOT IN ('under-18', '18-24', '25-34', '35-44', '45-54', '55+') THEN
        RAISE EXCEPTION 'age_group must be one of under-18, 18-24, 25-34, 35-44, 45-54, 55+'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    SELECT array_agg(l.name ORDER BY l.rank), array_agg(l.gender ORDER BY l.rank),
           array_agg(l.age_group ORDER BY l.rank)
    INTO v_level_names, v_genders, v_age_groups
    FROM (VALUES (1, 'exact', p_gender, p_age_group),
                 (2, 'gender', p_gender, '*'),
                 (3, 'age_group', '*', p_age_group),
                 (4, 'global', '*', '*')) AS l(rank, name, gender, age_group)
    WHERE l.gender IS NOT NULL AND l.age_group IS NOT NULL
      AND (l.rank = 4 OR EXISTS (SELECT 1 FROM recs.popular_segments s
                                 WHERE s.gender = l.gender AND s.age_group = l.age_group
                                   AND s.users >= v_min_users));

    SELECT v.version, v.as_of INTO data_version, data_as_of FROM recs.data_versions v WHERE v.name = 'popular';

    IF p_segment_category IS NOT NULL AND p_category IS NOT NULL AND p_segment_category <> p_category THEN
        total_items := 0;
    ELSE
        SELECT count(*) INTO total_items
        FROM recs.popular_items p
        WHERE p.gender = '*' AND p.age_group = '*'
          AND (v_category IS NULL OR p.category = v_category)
          AND (p_price_from IS NULL OR p.price >= p_price_from)
          AND (p_price_to IS NULL OR p.price <= p_price_to)
          AND (p_platform IS NULL OR p.platform = p_platform)
          AND (p_geo_id IS NULL OR p.geo_ids IS NULL OR p_geo_id = ANY (p.geo_ids));
    END IF;

    IF v_offset >= total_items THEN
        items := '{}';
        levels_used := '{}';
        fallback_level := v_level_names[1];
        RETURN NEXT;
        RETURN;
    END IF;

    WITH levels AS (
        SELECT l.name, l.gender, l.age_group, l.rank
        FROM unnest(v_level_names, v_genders, v_age_groups) WITH ORDINALITY AS l(name, gender, age_group, rank)
    ),
    ranked AS (
        SELECT l.rank, l.name, c.item_id, c.present_id, c.score
        FROM levels l
        CROSS JOIN LATERAL (
            SELECT p.item_id, p.present_id, p.score
            FROM recs.popular_items p
            WHERE p.gender = l.gender AND p.age_group = l.age_group
              AND (v_category IS NULL OR p.category = v_category)
              AND (p_price_from IS NULL OR p.price >= p_price_from)
              AND (p_price_to IS NULL OR p.price <= p_price_to)
              AND (p_platform IS NULL OR p.platform = p_platform)
              AND (p_geo_id IS NULL OR p.geo_ids IS NULL OR p_geo_id = ANY (p.geo_ids))
            ORDER BY p.score DESC, p.item_id
            LIMIT v_offset + p_limit
        ) c
    ),
    first_seen AS (
        SELECT DISTINCT ON (r.item_id) r.rank, r.name, r.item_id, r.present_id, r.score
        FROM ranked r
        ORDER BY r.item_id, r.rank
    ),
    page AS (
        SELECT f.name, f.present_id, row_number() OVER (ORDER BY f.rank, f.score DESC, f.item_id) AS position
        FROM first_seen f
        ORDER BY f.rank, f.score DESC, f.item_id
        OFFSET v_offset LIMIT p_limit
    )
    SELECT array_agg(pg.present_id ORDER BY pg.position),
           (array_agg(pg.name ORDER BY pg.position))[1],
           (SELECT array_agg(n.name ORDER BY n.first_position)
            FROM (SELECT pg2.name, min(pg2.position) AS first_position FROM page pg2 GROUP BY pg2.name) n)
    INTO items, fallback_level, levels_used
    FROM page pg;

    items := coalesce(items, '{}');
    levels_used := coalesce(levels_used, '{}');
    fallback_level := coalesce(fallback_level, v_level_names[1]);
    RETURN NEXT;
END;
$$;
COMMENT ON FUNCTION api.popular(text, text, text, integer, numeric, numeric, text, text, integer, integer) IS
    'A page of popular public presents for a segment with the exact -> gender -> age group -> global fallback chain and filters before top-N. Called by POST /popular.';
