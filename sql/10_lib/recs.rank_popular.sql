-- recs.rank_popular: the popular ranking with the demographic fallback chain, filtered before
-- the top-N: the first p_depth eligible presents, deduplicated across levels (a present keeps
-- its first level), in serving order.
-- Levels: exact (gender + age group), gender, age group, global; a level is skipped when an
-- attribute is missing or when its gender or its age group has fewer interacting users than
-- min_segment_users (the exact level needs both; the size of the cell they share does not count).
-- A segment level serves the global ranking times the lifts of its gender and age group
-- (recs.popular_blended, the first popular_segment_depth presents), so with popular_lift_prior_users
-- above 0 it places globally popular presents too; the global level serves every available public
-- present.
-- Arguments: p_gender, p_age_group (NULL = unknown); p_categories, p_platforms (NULL = any;
--   an empty array matches nothing); p_geo_id (presents without regions deliver everywhere);
--   p_price_from, p_price_to (NULL = open); p_depth (rows wanted); p_exclude_user_key (that
--   user's synced interactions are left out; NULL = none); p_exclude (item ids left out).
-- Result: (item_id, present_id, level, position) for position 1 .. p_depth at most.
-- Errors: none of its own (arguments are checked by the api.* callers).
-- Caller: api.popular, api.personalized (content-based and popular tiers).
-- Plans: a segment level reads at most popular_segment_depth rows of its segment whatever the
-- filters, so its statements keep one plan per session (one form for a single category, whose
-- equality the plan probes the category index with, one for the rest); the global level, whose
-- best plan depends on the filters (the category, price or ranking index over every available
-- present), is planned per call by EXECUTE. Planning all of them on every call was about a third
-- of a filtered /popular miss's backend CPU.
CREATE OR REPLACE FUNCTION recs.rank_popular(
    p_gender text, p_age_group text, p_categories text[], p_platforms text[], p_geo_id integer,
    p_price_from numeric, p_price_to numeric, p_depth integer, p_exclude_user_key integer, p_exclude integer[]
) RETURNS TABLE (item_id integer, present_id uuid, level text, "position" bigint)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_min_users integer := recs.setting('min_segment_users')::integer;
    v_level record;
    v_items integer[] := '{}';     -- the ranking so far, in serving order
    v_presents uuid[] := '{}';
    v_levels text[] := '{}';
    v_level_items integer[];
    v_level_presents uuid[];
    -- The one category a present must have (NULL: none, several, or presents without one, '').
    v_category text := CASE WHEN cardinality(p_categories) = 1 AND p_categories[1] <> '' THEN p_categories[1] END;
BEGIN
    -- Level by level, each only while the page is short, leaving out what the levels before it
    -- placed: the same ranking as every level to the full depth with each present at its first
    -- level, without scanning the later levels when the first one fills the page.
    FOR v_level IN
        SELECT l.name, l.gender, l.age_group
        FROM (VALUES (1, 'exact', p_gender, p_age_group),
                     (2, 'gender', p_gender, '*'),
                     (3, 'age_group', '*', p_age_group),
                     (4, 'global', '*', '*')) AS l(rank, name, gender, age_group)
        WHERE l.gender IS NOT NULL AND l.age_group IS NOT NULL
          AND (l.rank = 4
               OR ((l.gender = '*' OR EXISTS (SELECT 1 FROM recs.popular_segments s
                                              WHERE s.gender = l.gender AND s.age_group = '*'
                                                AND s.users >= v_min_users))
                   AND (l.age_group = '*' OR EXISTS (SELECT 1 FROM recs.popular_segments s
                                                     WHERE s.gender = '*' AND s.age_group = l.age_group
                                                       AND s.users >= v_min_users))))
        ORDER BY l.rank
    LOOP
        EXIT WHEN cardinality(v_items) >= p_depth;
        -- One query per table, not one over both: a UNION ALL chosen by the level's name, or the
        -- same text EXECUTEd on either table, measured 2x and 1.4x slower per level.
        IF v_level.name = 'global' THEN
            EXECUTE $q$
                SELECT coalesce(array_agg(c.item_id ORDER BY c.score DESC, c.item_id), '{}'),
                       coalesce(array_agg(c.present_id ORDER BY c.score DESC, c.item_id), '{}')
                FROM (SELECT p.item_id, p.present_id, p.score
                      FROM recs.popular_items p
                      WHERE p.gender = '*' AND p.age_group = '*'  -- the partial serving indexes' predicate
                        AND recs.matches_filters(p.category, p.platform, p.price, p.geo_ids, $1, $2, $3, $4, $5)
                        AND ($10 IS NULL OR p.category = $10)  -- an equality: the category index in score order
                        AND ($6 IS NULL OR p.item_id <> ALL ($6))
                        AND p.item_id <> ALL ($7)
                        AND ($8 IS NULL OR NOT EXISTS (
                                SELECT 1 FROM recs.interactions x WHERE x.user_key = $8 AND x.item_id = p.item_id))
                      ORDER BY p.score DESC, p.item_id
                      LIMIT $9) c$q$
            INTO v_level_items, v_level_presents
            USING p_categories, p_platforms, p_price_from, p_price_to, p_geo_id, p_exclude, v_items,
                  p_exclude_user_key, p_depth - cardinality(v_items), v_category;
        ELSIF v_category IS NOT NULL THEN  -- a segment, one category: its category index, in score order
            SELECT coalesce(array_agg(c.item_id ORDER BY c.score DESC, c.item_id), '{}'),
                   coalesce(array_agg(c.present_id ORDER BY c.score DESC, c.item_id), '{}')
            INTO v_level_items, v_level_presents
            FROM (SELECT p.item_id, p.present_id, p.score
                  FROM recs.popular_blended p
                  WHERE p.gender = v_level.gender AND p.age_group = v_level.age_group AND p.category = v_category
                    AND recs.matches_filters(p.category, p.platform, p.price, p.geo_ids,
                                             NULL, p_platforms, p_price_from, p_price_to, p_geo_id)
                    AND (p_exclude IS NULL OR p.item_id <> ALL (p_exclude))
                    AND p.item_id <> ALL (v_items)
                    AND (p_exclude_user_key IS NULL OR NOT EXISTS (
                            SELECT 1 FROM recs.interactions x
                            WHERE x.user_key = p_exclude_user_key AND x.item_id = p.item_id))
                  ORDER BY p.score DESC, p.item_id
                  LIMIT p_depth - cardinality(v_items)) c;
        ELSE  -- a segment: the global ranking times its groups' lifts
            SELECT coalesce(array_agg(c.item_id ORDER BY c.score DESC, c.item_id), '{}'),
                   coalesce(array_agg(c.present_id ORDER BY c.score DESC, c.item_id), '{}')
            INTO v_level_items, v_level_presents
            FROM (SELECT p.item_id, p.present_id, p.score
                  FROM recs.popular_blended p
                  WHERE p.gender = v_level.gender AND p.age_group = v_level.age_group
                    AND recs.matches_filters(p.category, p.platform, p.price, p.geo_ids,
                                             p_categories, p_platforms, p_price_from, p_price_to, p_geo_id)
                    AND (p_exclude IS NULL OR p.item_id <> ALL (p_exclude))
                    AND p.item_id <> ALL (v_items)
                    AND (p_exclude_user_key IS NULL OR NOT EXISTS (
                            SELECT 1 FROM recs.interactions x
                            WHERE x.user_key = p_exclude_user_key AND x.item_id = p.item_id))
                  ORDER BY p.score DESC, p.item_id
                  LIMIT p_depth - cardinality(v_items)) c;
        END IF;
        v_items := v_items || v_level_items;
        v_presents := v_presents || v_level_presents;
        v_levels := v_levels || array_fill(v_level.name::text, ARRAY[cardinality(v_level_items)]);
    END LOOP;
    RETURN QUERY
    SELECT r.item_id, r.present_id, r.level, r.position
    FROM unnest(v_items, v_presents, v_levels) WITH ORDINALITY AS r(item_id, present_id, level, position);
END;
$$;
COMMENT ON FUNCTION recs.rank_popular(text, text, text[], text[], integer, numeric, numeric, integer, integer, integer[]) IS
    'Popular ranking with the exact -> gender -> age group -> global fallback, filters and exclusions before top-N. Used by api.popular and api.personalized.';
