-- recs.explain_page: why each present of a page is there, for the explain option: per present
-- {id, score, reasons: [{code, ...}]}, the reasons matching how the present was ranked (p_kinds):
--   collaborative: similar_users {count: users of the user's neighbour pool who liked it} and
--     liked_with {present_ids: up to 3 of the user's presents that list it among their item
--     neighbours or give it a positive learned weight (recs.item_learned_weights, while
--     item_learned_weight is above 0), those by similarity first}, each when it holds;
--   content_based: liked_with, and category_affinity {category} when it is in the category of one
--     of the user's recent presents;
--   a collaborative or content-based present none of those reasons holds for was placed by the
--     popularity prior (recs.popularity_share): it is explained as the global level is;
--   co_liked (POST /similar): liked_with {present_ids: [the asked present]};
--   same_category (POST /similar): same_category {category};
--   exact, gender, age_group, global (a popularity level): popular_in_segment {level, gender,
--     age_group} (the segment's attributes; null where the level does not use them).
-- score is the strength of the first reason: the sum of the similarities of the neighbours who
-- liked it (similar_users), of the item similarities from the listed presents (liked_with; of their
-- learned weights for a present only the learned weights reach), the
-- present's popularity score as the popular ranking serves it (recs.popular_blended for a segment,
-- recs.popular_items for global) in its level's segment (popular_in_segment) or, for
-- category_affinity and same_category, in the most specific level that has it.
-- Arguments: p_user_key (NULL: anonymous), p_fresh (the user's unsynced item ids), p_anchor (the
--   present /similar was asked about, else NULL), p_gender, p_age_group (the user's or request's
--   segment), p_items (the page's item ids, in order), p_kinds (how each was ranked, as above).
-- Result: a jsonb array, one object per present, in page order. Errors: none.
-- Caller: api.popular, api.personalized, api.similar when p_explain is true.
CREATE OR REPLACE FUNCTION recs.explain_page(
    p_user_key integer, p_fresh integer[], p_anchor integer, p_gender text, p_age_group text,
    p_items integer[], p_kinds text[]
) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH page AS (
        SELECT p.item_id, p.kind, p.position, i.present_id, i.category
        FROM unnest(p_items, p_kinds) WITH ORDINALITY AS p(item_id, kind, position)
        JOIN recs.items i ON i.item_id = p.item_id
    ),
    mine AS (  -- the user's presents: the recent synced ones, read as recs.item_neighbor_scores reads
               -- them (those at the time of the last one kept, at most item_neighbor_history_limit),
               -- and the unsynced ones
        SELECT recent.item_id
        FROM (SELECT top.item_id
              FROM (SELECT x.item_id, x.last_at FROM recs.interactions x WHERE x.user_key = p_user_key
                    ORDER BY x.last_at DESC
                    FETCH FIRST (recs.setting('neighbor_history_limit')::integer) ROWS WITH TIES) top
              ORDER BY top.last_at DESC, hashint4(top.item_id)
              LIMIT recs.setting('item_neighbor_history_limit')::integer) recent
        UNION
        SELECT f.item_id FROM unnest(p_fresh) f(item_id)
        UNION
        SELECT p_anchor WHERE p_anchor IS NOT NULL
    ),
    listed AS (  -- which of the user's presents (or the anchor) point at each page present: among their
                 -- item neighbours (a similarity) or, while the blend reads them, their positive learned
                 -- weights (a present can reach a page through the learned weights alone)
        SELECT n.item_id, pool.item_id AS source_id, n.similarity, false AS is_learned
        FROM recs.item_neighbors pool
        CROSS JOIN LATERAL unnest(pool.neighbor_ids, pool.similarities) AS n(item_id, similarity)
        WHERE pool.item_id IN (SELECT m.item_id FROM mine m)
          AND n.item_id = ANY (p_items)
        UNION ALL
        SELECT n.item_id, w.item_id, n.weight, true
        FROM recs.item_learned_weights w
        CROSS JOIN LATERAL unnest(w.target_ids, w.weights) AS n(item_id, weight)
        WHERE w.item_id IN (SELECT m.item_id FROM mine m)
          AND n.item_id = ANY (p_items) AND n.weight > 0
          AND (SELECT recs.setting('item_learned_weight')::double precision) > 0
    ),
    by_source AS (  -- one row per (page present, source): its similarity and its learned weight
        SELECT l.item_id, l.source_id,
               max(l.similarity) FILTER (WHERE NOT l.is_learned) AS similarity,
               max(l.similarity) FILTER (WHERE l.is_learned) AS learned
        FROM listed l
        GROUP BY l.item_id, l.source_id
    ),
    liked_with AS (  -- the similarities' sum, else (reached through the learned weights alone) the weights'
        SELECT l.item_id, coalesce(sum(l.similarity), sum(l.learned)) AS score,
               (array_agg(i.present_id ORDER BY (l.source_id = p_anchor) DESC, l.similarity DESC NULLS LAST,
                          l.learned DESC, l.source_id))[1:3]
                   AS present_ids,
               bool_or(l.source_id = p_anchor) AS with_anchor
        FROM by_source l JOIN recs.items i ON i.item_id = l.source_id
        GROUP BY l.item_id
    ),
    similar_users AS (
        SELECT x.item_id, count(*) AS users, sum(n.similarity) AS score
        FROM recs.user_neighbors pool
        CROSS JOIN LATERAL unnest(pool.neighbor_keys, pool.similarities) AS n(neighbor_key, similarity)
        JOIN recs.interactions x ON x.user_key = n.neighbor_key AND x.item_id = ANY (p_items)
        WHERE pool.user_key = p_user_key AND x.liked_at IS NOT NULL
        GROUP BY x.item_id
    ),
    my_categories AS (
        SELECT DISTINCT i.category FROM mine m JOIN recs.items i ON i.item_id = m.item_id
        WHERE i.category IS NOT NULL AND m.item_id IS DISTINCT FROM p_anchor
    ),
    placed AS (  -- how each present was placed: a neighbourhood present no neighbour and none of the
                 -- user's categories account for was placed by the popularity prior, the global level's
        SELECT page.item_id, page.position, page.present_id, page.category,
               c.category IS NOT NULL AS in_my_categories,
               CASE WHEN page.kind IN ('collaborative', 'content_based')
                         AND NOT EXISTS (SELECT 1 FROM liked_with lw WHERE lw.item_id = page.item_id)
                         AND NOT (page.kind = 'collaborative'
                                  AND EXISTS (SELECT 1 FROM similar_users su WHERE su.item_id = page.item_id))
                         AND NOT (page.kind = 'content_based' AND c.category IS NOT NULL)
                    THEN 'global' ELSE page.kind END AS kind
        FROM page
        LEFT JOIN my_categories c ON c.category = page.category
    ),
    segment AS (  -- the segment each popularity level reads
        SELECT l.level, l.gender, l.age_group
        FROM (VALUES ('exact', p_gender, p_age_group), ('gender', p_gender, '*'),
                     ('age_group', '*', p_age_group), ('global', '*', '*')) AS l(level, gender, age_group)
    ),
    scored AS (  -- each page present's score in each level's segment, as the ranking serves it
        SELECT s.level, b.item_id, b.score
        FROM segment s
        JOIN recs.popular_blended b ON b.gender = s.gender AND b.age_group = s.age_group AND b.item_id = ANY (p_items)
        WHERE s.level <> 'global'
        UNION ALL
        SELECT 'global', g.item_id, g.score
        FROM recs.popular_items g WHERE g.gender = '*' AND g.age_group = '*' AND g.item_id = ANY (p_items)
    ),
    popularity AS (  -- in the present's own level, and in the most specific level that has it
        SELECT page.item_id,
               (SELECT sc.score FROM scored sc WHERE sc.item_id = page.item_id AND sc.level = page.kind) AS level_score,
               (SELECT sc.score FROM scored sc WHERE sc.item_id = page.item_id
                ORDER BY array_position(ARRAY['exact', 'gender', 'age_group', 'global'], sc.level) LIMIT 1)
                   AS best_score
        FROM placed page
    ),
    reasons AS (
        SELECT page.position, page.present_id,
               CASE
                   WHEN page.kind = 'collaborative' THEN coalesce(su.score, lw.score)
                   WHEN page.kind IN ('content_based', 'co_liked') THEN coalesce(lw.score, pop.best_score)
                   WHEN page.kind = 'same_category' THEN pop.best_score
                   ELSE pop.level_score
               END AS score,
               array_remove(ARRAY[
                   CASE WHEN page.kind = 'collaborative' AND su.users > 0
                        THEN jsonb_build_object('code', 'similar_users', 'count', su.users) END,
                   CASE WHEN page.kind IN ('collaborative', 'content_based', 'co_liked') AND lw.item_id IS NOT NULL
                             AND (page.kind <> 'co_liked' OR lw.with_anchor)
                        THEN jsonb_build_object('code', 'liked_with', 'present_ids',
                                                CASE WHEN page.kind = 'co_liked' THEN to_jsonb(ARRAY[lw.present_ids[1]])
                                                     ELSE to_jsonb(lw.present_ids) END) END,
                   CASE WHEN page.kind = 'content_based' AND page.in_my_categories
                        THEN jsonb_build_object('code', 'category_affinity', 'category', page.category) END,
                   CASE WHEN page.kind = 'same_category'
                        THEN jsonb_build_object('code', 'same_category', 'category', page.category) END,
                   CASE WHEN page.kind IN ('exact', 'gender', 'age_group', 'global')
                        THEN jsonb_build_object('code', 'popular_in_segment', 'level', page.kind,
                                                'gender', s.gender, 'age_group', s.age_group) END
               ], NULL) AS list
        FROM placed page
        LEFT JOIN liked_with lw ON lw.item_id = page.item_id
        LEFT JOIN similar_users su ON su.item_id = page.item_id
        LEFT JOIN popularity pop ON pop.item_id = page.item_id
        LEFT JOIN (SELECT g.level, nullif(g.gender, '*') AS gender, nullif(g.age_group, '*') AS age_group
                   FROM segment g) s ON s.level = page.kind
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object('id', r.present_id, 'score', round(coalesce(r.score, 0)::numeric, 6),
                                                 'reasons', to_jsonb(r.list))
                              ORDER BY r.position), '[]')
    FROM reasons r;
$$;
COMMENT ON FUNCTION recs.explain_page(integer, integer[], integer, text, text, integer[], text[]) IS
    'Why each present of a page is there: {id, score, reasons: [{code, ...}]} by how it was ranked (similar_users, liked_with, category_affinity, same_category, popular_in_segment). For the explain option.';
