-- recs.resolve_filters: the category and platform filters of a request as the catalogue spells
-- them, matched case-insensitively against the available public presents' categories and
-- platforms (recs.popular_filter_counts, written by the popularity job), with a warning for each
-- value that matches none.
--   categories: NULL when no category filter applies; else the stored spellings a present's
--     category must be one of: those of p_category and p_categories (any of; NULL when both are
--     NULL: every known category and '', which stands for presents without a category), less
--     those of p_exclude_categories. '{}' matches nothing (every wanted value unknown).
--   platforms: NULL without p_platform; else its stored spellings ('{}' when unknown).
--   warnings: a jsonb array of {field, value, message}, one per value that matches no available
--     present, naming the request field it came from (filters.category, filters.categories,
--     filters.exclude_categories, filters.platform, user_params.category).
-- Arguments: p_category, p_categories, p_exclude_categories, p_platform (NULL: not given),
--   p_segment_category (api.popular's user_params.category: both it and a category filter must
--   hold).
-- Errors: none. Caller: api.popular, api.personalized, api.similar.
CREATE OR REPLACE FUNCTION recs.resolve_filters(
    p_category text, p_categories text[], p_exclude_categories text[], p_platform text,
    p_segment_category text DEFAULT NULL,
    OUT categories text[], OUT platforms text[], OUT warnings jsonb
)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_known_categories text[];
    v_wanted text[];
    v_segment text[];
    v_excluded text[];
    v_given record;
BEGIN
    warnings := '[]';
    IF num_nonnulls(p_category, p_categories, p_exclude_categories, p_platform, p_segment_category) = 0 THEN
        RETURN;  -- no filter: the common case costs no read
    END IF;
    IF num_nonnulls(p_categories, p_exclude_categories, p_platform, p_segment_category) = 0 THEN
        -- One category, the next most common filter: its spellings in one read, as the loop below
        -- finds them.
        SELECT coalesce(array_agg(c.category ORDER BY c.category), '{}') INTO categories
        FROM recs.popular_filter_counts c
        WHERE c.platform = '*' AND c.category <> '*' AND lower(c.category) = lower(p_category);
        IF cardinality(categories) = 0 THEN
            warnings := jsonb_build_array(jsonb_build_object(
                'field', 'filters.category', 'value', p_category,
                'message', format('no available present has category %s', p_category)));
        END IF;
        RETURN;
    END IF;
    SELECT coalesce(array_agg(c.category), '{}') INTO v_known_categories
    FROM recs.popular_filter_counts c WHERE c.platform = '*' AND c.category <> '*';
    -- Each given value: the request field it came from, and its stored spellings (none: a warning).
    FOR v_given IN
        SELECT g.field, g.value,
               (SELECT coalesce(array_agg(k.name ORDER BY k.name), '{}')
                FROM unnest(CASE WHEN g.field = 'filters.platform' THEN
                                     (SELECT coalesce(array_agg(c.platform), '{}') FROM recs.popular_filter_counts c
                                      WHERE c.category = '*' AND c.platform <> '*')
                                 ELSE v_known_categories END) AS k(name)
                WHERE lower(k.name) = lower(g.value)) AS spellings
        FROM (SELECT 'filters.category' AS field, p_category AS value
              UNION ALL SELECT 'filters.categories', c FROM unnest(p_categories) c
              UNION ALL SELECT 'filters.exclude_categories', c FROM unnest(p_exclude_categories) c
              UNION ALL SELECT 'filters.platform', p_platform
              UNION ALL SELECT 'user_params.category', p_segment_category) g
        WHERE g.value IS NOT NULL
    LOOP
        IF cardinality(v_given.spellings) = 0 THEN
            warnings := warnings || jsonb_build_object(
                'field', v_given.field, 'value', v_given.value,
                'message', format('no available present has %s %s',
                                  CASE WHEN v_given.field = 'filters.platform' THEN 'platform' ELSE 'category' END,
                                  v_given.value));
        END IF;
        CASE v_given.field
            WHEN 'filters.category', 'filters.categories' THEN
                v_wanted := coalesce(v_wanted, '{}') || v_given.spellings;
            WHEN 'filters.exclude_categories' THEN
                v_excluded := coalesce(v_excluded, '{}') || v_given.spellings;
            WHEN 'filters.platform' THEN
                platforms := v_given.spellings;
            ELSE
                v_segment := v_given.spellings;
        END CASE;
    END LOOP;
    IF v_segment IS NOT NULL THEN
        v_wanted := CASE WHEN v_wanted IS NULL THEN v_segment
                         ELSE ARRAY(SELECT unnest(v_wanted) INTERSECT SELECT unnest(v_segment)) END;
    END IF;
    IF v_excluded IS NOT NULL THEN
        v_wanted := ARRAY(SELECT unnest(coalesce(v_wanted, v_known_categories || ''::text))
                          EXCEPT SELECT unnest(v_excluded));
    END IF;
    categories := ARRAY(SELECT DISTINCT unnest(v_wanted) ORDER BY 1);
    IF v_wanted IS NULL THEN
        categories := NULL;
    END IF;
END;
$$;
COMMENT ON FUNCTION recs.resolve_filters(text, text[], text[], text, text) IS
    'Category and platform filters resolved case-insensitively to the catalogue''s spellings (categories any of, less excluded ones), with a warning per value that matches no available present. For the api.* ranking functions.';
