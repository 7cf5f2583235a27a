-- api.personalized: one page of presents for a user, from the tier their interaction count
-- chooses, topped up by the next tiers when a tier cannot fill the page (no duplicates):
--   collaborative (>= collaborative_min_interactions): user-kNN with a neighbourhood per present:
--     a like is a vote weighted by how recent it is in its neighbour's history (the n-th most
--     recent of their neighbor_history_limit latest interactions: 2^(-(n - 1) / neighbor_history_half_life));
--     score = sum of similarity x vote over the most similar users of the user's neighbour pool
--     (recs.user_neighbors) who liked the present, taken in similarity order up to
--     max_similar_users (K) votes;
--   content_based (1 .. collaborative_min_interactions - 1, and the top-up of collaborative):
--     presents in the categories of the user's presents, priced within content_price_band_factor
--     of theirs, ranked by popularity in the user's demographic segment;
--   popular (0, and the last top-up): the demographic popular ranking (recs.rank_popular).
-- Never returns a present the user liked or clicked, synced or not yet synced (read live from
-- main; if main is unreachable only synced interactions are excluded and fresh_checked is
-- false), nor one in p_exclude, nor an unavailable or private one (recs.items holds public ones).
-- Filters apply before the top-N of every tier. An unknown user is a user with 0 interactions.
-- Arguments: p_user_id; p_geo_id (NULL: the synced profile's); p_price_from, p_price_to,
--   p_category, p_platform (filters, NULL = any); p_page >= 1; p_limit 1..1000; p_exclude
--   (present ids, at most 1000).
-- Result: one row: items (present ids in page order), total_items (available presents
--   matching the filters, minus the user's and the excluded), algorithm_used (tier of the first
--   item, else the user's tier), tiers_used, fallback_level (popular level of the first popular
--   item), interactions, fresh_checked, data_as_of.
-- Errors: 22023 naming the bad argument.
-- Caller: POST /personalized; the offline evaluation.
CREATE OR REPLACE FUNCTION api.personalized(
    p_user_id uuid, p_geo_id integer, p_price_from numeric, p_price_to numeric, p_category text,
    p_platform text, p_page integer, p_limit integer, p_exclude uuid[]
) RETURNS TABLE (items uuid[], total_items bigint, algorithm_used text, tiers_used text[], fallback_level text,
                 interactions integer, fresh_checked boolean, data_as_of timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    v_collaborative_min integer := recs.setting('collaborative_min_interactions')::integer;
    v_history integer := recs.setting('neighbor_history_limit')::integer;
    v_band double precision := recs.setting('content_price_band_factor')::double precision;
    v_k integer := recs.setting('max_similar_users')::integer;
    -- A neighbour's n-th most recent interaction counts 2^(-(n - 1) / half-life) (0: no decay).
    v_half_life double precision := recs.setting('neighbor_history_half_life')::double precision;
    v_recency_decay double precision := CASE WHEN v_half_life = 0 THEN 1 ELSE 0.5 ^ (1 / v_half_life) END;
    v_offset integer;
    v_depth integer;
    v_user_key integer;
    v_gender text;
    v_age_group text;
    v_geo_id integer;
    v_fresh integer[] := '{}';
    v_exclude integer[];
    v_tier text;
    v_categories text[] := CASE WHEN p_category IS NOT NULL THEN ARRAY[p_category] END;
    v_platforms text[] := CASE WHEN p_platform IS NOT NULL THEN ARRAY[p_platform] END;
    v_content_categories text[];
    v_content_from numeric;
    v_content_to numeric;
    v_ranked integer[] := '{}';  -- the ranking so far, item ids in page order
    v_tiers text[] := '{}';       -- the tier of each
    v_levels text[] := '{}';      -- the popular level of each (NULL outside the popular tier)
BEGIN
    PERFORM recs.check_page_arguments(p_page, p_limit, p_price_from, p_price_to);
    IF p_user_id IS NULL THEN
        RAISE EXCEPTION 'user_id is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF cardinality(p_exclude) > 1000 THEN
        RAISE EXCEPTION 'exclude may hold at most 1000 ids' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_offset := (p_page - 1) * p_limit;
    v_depth := v_offset + p_limit;

    SELECT u.user_key INTO v_user_key FROM recs.users u WHERE u.user_id = p_user_id;
    SELECT d.gender, d.age_group, d.geo_id INTO v_gender, v_age_group, v_geo_id
    FROM recs.user_demographics d WHERE d.user_key = v_user_key;
    v_geo_id := coalesce(p_geo_id, v_geo_id);

    BEGIN
        SELECT coalesce(array_agg(DISTINCT f.item_id), '{}') INTO v_fresh FROM recs.fresh_interactions(p_user_id) f;
        fresh_checked := true;
    EXCEPTION WHEN OTHERS THEN
        fresh_checked := false;
    END;
    SELECT count(*) + (SELECT count(*) FROM unnest(v_fresh) f(item_id)
                       WHERE NOT EXISTS (SELECT 1 FROM recs.interactions x
                                         WHERE x.user_key = v_user_key AND x.item_id = f.item_id))
    INTO interactions
    FROM recs.interactions x WHERE x.user_key = v_user_key;
    v_exclude := v_fresh || coalesce((SELECT array_agg(i.item_id) FROM recs.items i WHERE i.present_id = ANY (p_exclude)),
                                     '{}');
    v_tier := CASE WHEN interactions = 0 THEN 'popular'
                   WHEN interactions < v_collaborative_min THEN 'content_based'
                   ELSE 'collaborative' END;

    IF v_tier <> 'popular' THEN
        -- The content profile: categories and price span of the user's most recent presents.
        SELECT array_agg(DISTINCT i.category) FILTER (WHERE i.category IS NOT NULL),
               (min(i.price) / v_band::numeric), (max(i.price) * v_band::numeric)
        INTO v_content_categories, v_content_from, v_content_to
        FROM (SELECT recent.item_id FROM (SELECT x.item_id FROM recs.interactions x WHERE x.user_key = v_user_key
                                          ORDER BY x.last_at DESC LIMIT v_history) recent
              UNION
              SELECT f.item_id FROM unnest(v_fresh) f(item_id)) mine
        JOIN recs.items i ON i.item_id = mine.item_id;
        IF p_category IS NOT NULL THEN
            v_content_categories := CASE WHEN p_category = ANY (v_content_categories) THEN ARRAY[p_category]
                                         ELSE '{}'::text[] END;
        END IF;
        v_content_from := greatest(v_content_from, p_price_from);
        v_content_to := least(v_content_to, p_price_to);
    END IF;

    total_items := recs.count_available(v_categories, v_platforms, v_geo_id, p_price_from, p_price_to,
                                        v_user_key, v_exclude);
    SELECT greatest(max(v.as_of) FILTER (WHERE v.name = 'popular'), max(v.as_of) FILTER (WHERE v.name = 'personalized'))
    INTO data_as_of FROM recs.data_versions v;

    -- The ranking down to the page's last position, tier by tier: a tier is computed only when
    -- the ones before it leave the page short, and leaves out what they already placed (the same
    -- page as ranking every tier to the full depth and keeping each present's first tier).
    IF v_offset < total_items THEN
        IF v_tier = 'collaborative' THEN
            SELECT coalesce(array_agg(top.item_id ORDER BY top.score DESC, top.item_id), '{}')
            INTO v_ranked
            FROM (
                SELECT c.item_id, c.score
                FROM (
                    SELECT liked.item_id, sum(liked.similarity * liked.vote) AS score
                    FROM (
                        SELECT h.item_id, n.similarity, h.vote,
                               sum(h.vote) OVER (PARTITION BY h.item_id ORDER BY n.similarity DESC, n.neighbor_key
                                                 ROWS UNBOUNDED PRECEDING) AS votes_so_far
                        FROM recs.user_neighbors pool
                        CROSS JOIN LATERAL unnest(pool.neighbor_keys, pool.similarities) AS n(neighbor_key, similarity)
                        CROSS JOIN LATERAL (
                            SELECT x.item_id, x.liked_at,
                                   v_recency_decay ^ (row_number() OVER (ORDER BY x.last_at DESC, x.item_id DESC) - 1)
                                       AS vote
                            FROM recs.interactions x
                            WHERE x.user_key = n.neighbor_key
                            ORDER BY x.last_at DESC, x.item_id DESC
                            LIMIT v_history
                        ) h
                        WHERE pool.user_key = v_user_key AND h.liked_at IS NOT NULL
                    ) liked
                    WHERE liked.votes_so_far <= v_k
                    GROUP BY liked.item_id
                    ORDER BY 2 DESC, 1
                    OFFSET 0
                ) c
                -- One index probe per candidate, best first (the order above), so the probes stop
                -- once the page is full (a hash join would read every present): 676 probes down to
                -- 38 for a user at the target scale, 7.6 -> 4.4 ms.
                CROSS JOIN LATERAL (SELECT i.* FROM recs.items i WHERE i.item_id = c.item_id OFFSET 0) i
                WHERE i.available
                  AND recs.matches_filters(i.category, i.platform, i.price, i.geo_ids,
                                           v_categories, v_platforms, p_price_from, p_price_to, v_geo_id)
                  AND i.item_id <> ALL (v_exclude)
                  AND NOT EXISTS (SELECT 1 FROM recs.interactions y
                                  WHERE y.user_key = v_user_key AND y.item_id = c.item_id)
                ORDER BY c.score DESC, c.item_id
                LIMIT v_depth
            ) top;
            v_tiers := array_fill('collaborative'::text, ARRAY[cardinality(v_ranked)]);
            v_levels := array_fill(NULL::text, ARRAY[cardinality(v_ranked)]);
        END IF;
        IF v_tier <> 'popular' AND cardinality(v_ranked) < v_depth
           AND coalesce(v_content_from <= v_content_to, true) THEN
            SELECT v_ranked || coalesce(array_agg(r.item_id ORDER BY r.position), '{}'),
                   v_tiers || coalesce(array_agg('content_based'::text ORDER BY r.position), '{}'),
                   v_levels || coalesce(array_agg(NULL::text ORDER BY r.position), '{}')
            INTO v_ranked, v_tiers, v_levels
            FROM recs.rank_popular(v_gender, v_age_group, v_content_categories, v_platforms, v_geo_id,
                                   v_content_from, v_content_to, v_depth - cardinality(v_ranked), v_user_key,
                                   v_exclude || v_ranked) r;
        END IF;
        IF cardinality(v_ranked) < v_depth THEN
            SELECT v_ranked || coalesce(array_agg(r.item_id ORDER BY r.position), '{}'),
                   v_tiers || coalesce(array_agg('popular'::text ORDER BY r.position), '{}'),
                   v_levels || coalesce(array_agg(r.level ORDER BY r.position), '{}')
            INTO v_ranked, v_tiers, v_levels
            FROM recs.rank_popular(v_gender, v_age_group, v_categories, v_platforms, v_geo_id, p_price_from,
                                   p_price_to, v_depth - cardinality(v_ranked), v_user_key, v_exclude || v_ranked) r;
        END IF;
        -- The page itself.
        SELECT coalesce(array_agg(i.present_id ORDER BY r.page_position), '{}')
        INTO items
        FROM unnest(v_ranked) WITH ORDINALITY AS r(item_id, page_position)
        JOIN recs.items i ON i.item_id = r.item_id
        WHERE r.page_position > v_offset;
        v_tiers := v_tiers[v_offset + 1:];
        v_levels := array_remove(v_levels[v_offset + 1:], NULL);
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
COMMENT ON FUNCTION api.personalized(uuid, integer, numeric, numeric, text, text, integer, integer, uuid[]) IS
    'A page for a user: collaborative -> content-based -> popular tiers by interaction count, topped up in that order, never what the user liked or clicked (even unsynced) or excluded. Called by POST /personalized.';
