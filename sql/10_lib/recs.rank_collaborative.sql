-- recs.rank_collaborative: the collaborative ranking of one user, user-kNN with a neighbourhood
-- per present: a neighbour's like is a vote weighted by how recent it is in that neighbour's
-- history (the n-th most recent of their neighbor_history_limit latest interactions counts
-- 2^(-(n - 1) / neighbor_history_half_life); 0: every one a full vote; interactions at the same
-- time share their place n and are kept or left out together, so events without an order of
-- their own all count fully and none is cut by an order they do not have); a
-- present's score is the sum of similarity x vote over the most similar users of the user's
-- pool (recs.user_neighbors, its first neighbor_pool_size users) who liked it, taken in similarity
-- order up to max_similar_users (K) votes. Each neighbour's recent likes and their places in that
-- neighbour's history are one row of recs.neighbor_votes (kept by the similarity job), so a
-- neighbour costs one index probe.
-- That score is blended with the item neighbours' (recs.item_neighbor_scores, "people who
-- took your presents also took"), each scaled to its best candidate, the item share being
-- p_item_weight (0: user neighbours only; 1: item neighbours only, as the content-based tier ranks).
-- The blend is shrunk towards a prior, the head of the global popular ranking (its first 100
-- presents with a score above 0, scaled to the most popular one's; a fixed head, so a page ranks
-- as the whole ranking does whatever its depth), by p_popularity_share (recs.popularity_share:
-- how little data backs the user's neighbourhoods; 0 reads no prior).
-- Filters and exclusions apply before the top-N.
-- Arguments: p_user_key; p_depth (positions wanted); p_categories, p_platforms (NULL = any),
--   p_price_from, p_price_to, p_geo_id (as recs.matches_filters); p_exclude (item ids left out, on
--   top of the user's own synced interactions); p_fresh (item ids of the user's unsynced
--   interactions: they feed the item neighbours' score); p_item_weight (0..1, the blend above);
--   p_popularity_share (0..1, the prior's share; default 0 or NULL: the neighbours alone).
-- Result: item ids, best first, at most p_depth ('{}' for a user without a pool and without a prior).
-- Errors: none of its own. Caller: api.personalized (collaborative tier with
--   collaborative_item_weight; content-based tier with 1).
-- The former signature, without p_popularity_share, dropped in the same transaction as the new one
-- is created (calls with ten arguments resolve to this one through its default).
DROP FUNCTION IF EXISTS recs.rank_collaborative(integer, integer, text[], text[], numeric, numeric, integer, integer[],
                                                integer[], double precision);
CREATE OR REPLACE FUNCTION recs.rank_collaborative(
    p_user_key integer, p_depth integer, p_categories text[], p_platforms text[], p_price_from numeric,
    p_price_to numeric, p_geo_id integer, p_exclude integer[], p_fresh integer[], p_item_weight double precision,
    p_popularity_share double precision DEFAULT 0
) RETURNS integer[]
LANGUAGE plpgsql STABLE
-- One plan per session, not one per call: the query's shape does not depend on the arguments (the
-- user's rows are index probes, the filters are checked per candidate inside the LATERAL probe),
-- and planning it anew took about a fifth of the call (backend CPU per collaborative-tier page at
-- the target scale, on a busy machine: 7.05 ms with a plan per call, 5.9 ms with this one; the
-- same pages).
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_history integer := recs.setting('neighbor_history_limit')::integer;
    v_k integer := recs.setting('max_similar_users')::integer;
    -- The pool is kept most similar first: a smaller pool size applies at once, before the
    -- similarity job rebuilds the pools to that size.
    v_pool_size integer := recs.setting('neighbor_pool_size')::integer;
    v_half_life double precision := recs.setting('neighbor_history_half_life')::double precision;
    -- 2^(-1/half-life) per step back in a neighbour's history; a vote under 2^-1000 counts 0 (the
    -- float8 power would underflow into an error with a tiny half-life and a long history).
    v_recency_decay double precision := CASE WHEN v_half_life = 0 THEN 1
                                             WHEN 1 / v_half_life > 1000 THEN 0
                                             ELSE 0.5 ^ (1 / v_half_life) END;
    v_item_weight double precision := p_item_weight;
    v_share double precision := coalesce(p_popularity_share, 0);
    -- A value, not the call: recs.item_neighbor_scores is inlined, and an argument that is a call
    -- would be evaluated wherever its body names the parameter, on every row (measured: 4 of the
    -- 5 ms of a collaborative-tier ranking at the target scale).
    v_item_half_life double precision := recs.setting('item_history_half_life')::double precision;
    v_ranked integer[];
BEGIN
    SELECT coalesce(array_agg(top.item_id ORDER BY top.score DESC, top.item_id), '{}')
    INTO v_ranked
    FROM (
        SELECT c.item_id, c.score
        FROM (
            -- Each signal scaled to its best candidate, then blended.
            SELECT coalesce(u.item_id, b.item_id, p.item_id) AS item_id,
                   (1 - v_share)
                   * ((1 - v_item_weight) * coalesce(u.score / nullif(max(u.score) OVER (), 0), 0)
                      + v_item_weight * coalesce(b.score / nullif(max(b.score) OVER (), 0), 0))
                   + v_share * coalesce(p.score / nullif(max(p.score) OVER (), 0), 0) AS score
            FROM (
                SELECT liked.item_id, sum(liked.similarity * liked.vote) AS score
                FROM (
                    SELECT h.item_id, n.similarity, h.vote,
                           sum(h.vote) OVER (PARTITION BY h.item_id ORDER BY n.similarity DESC, n.neighbor_key
                                             ROWS UNBOUNDED PRECEDING) AS votes_so_far
                    -- The arrays are unnested in select lists (a ProjectSet, which hands on each element
                    -- as it goes), not in FROM (a function scan, which first copies every element into a
                    -- tuplestore): the same rows in the same order, 7 % less backend CPU per ranking.
                    FROM (SELECT unnest(pool.neighbor_keys[1:v_pool_size]) AS neighbor_key,
                                 unnest(pool.similarities[1:v_pool_size]) AS similarity
                          FROM recs.user_neighbors pool
                          WHERE pool.user_key = p_user_key AND v_item_weight < 1) n
                    -- One row per neighbour: their recent likes and places (recs.neighbor_votes).
                    JOIN recs.neighbor_votes v ON v.user_key = n.neighbor_key
                    CROSS JOIN LATERAL (
                        SELECT t.item_id,
                               CASE WHEN v_half_life > 0 AND t.step > 1000 * v_half_life THEN 0
                                    ELSE v_recency_decay ^ t.step END AS vote
                        FROM (SELECT unnest(v.item_ids) AS item_id, unnest(v.steps) AS step) t
                        WHERE t.step < v_history  -- as FETCH FIRST v_history ROWS WITH TIES keeps them
                    ) h
                ) liked
                WHERE liked.votes_so_far <= v_k
                GROUP BY liked.item_id
            ) u
            FULL JOIN (SELECT s.item_id, s.score FROM recs.item_neighbor_scores(p_user_key, p_fresh, v_history,
                                                                                 v_item_half_life) s
                       WHERE v_item_weight > 0) b ON b.item_id = u.item_id
            -- The prior: the head of the global popular ranking (not read at a share of 0).
            FULL JOIN (SELECT g.item_id, g.score FROM recs.popular_items g
                       WHERE g.gender = '*' AND g.age_group = '*' AND g.score > 0 AND v_share > 0
                       ORDER BY g.score DESC, g.item_id
                       LIMIT 100) p ON p.item_id = coalesce(u.item_id, b.item_id)
            ORDER BY 2 DESC, 1
            OFFSET 0
        ) c
        -- One index probe per candidate, best first (the order above), so the probes stop once
        -- the page is full (a hash join would read every present): 676 probes down to 38 for a
        -- user at the target scale, 7.6 -> 4.4 ms. The check of the user's own presents is inside
        -- the probe too: as a join of its own the planner, which expects few candidates, may make
        -- it a hash anti join, which keeps no order, and then probe and re-sort every candidate
        -- (1,194 probes instead of 26 for a content-based ranking at the target scale).
        CROSS JOIN LATERAL (SELECT i.* FROM recs.items i
                            WHERE i.item_id = c.item_id
                              AND NOT EXISTS (SELECT 1 FROM recs.interactions y
                                              WHERE y.user_key = p_user_key AND y.item_id = i.item_id)
                            OFFSET 0) i
        WHERE i.available
          AND recs.matches_filters(i.category, i.platform, i.price, i.geo_ids,
                                   p_categories, p_platforms, p_price_from, p_price_to, p_geo_id)
          AND i.item_id <> ALL (p_exclude)
        ORDER BY c.score DESC, c.item_id
        LIMIT p_depth
    ) top;
    RETURN v_ranked;
END;
$$;
COMMENT ON FUNCTION recs.rank_collaborative(integer, integer, text[], text[], numeric, numeric, integer, integer[], integer[], double precision, double precision) IS
    'Collaborative ranking of one user (user-kNN with recency-weighted votes, blended with item neighbours, shrunk towards the global popular head by the popularity share), filtered, best first. Used by api.personalized.';
