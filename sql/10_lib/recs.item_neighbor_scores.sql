-- recs.item_neighbor_scores: "people who took this also took": every present scored for a user
-- by the item neighbours of their recent presents. Two scores, each a sum over those presents of
-- the user's interaction weight x a present-to-present weight: the similarity (recs.item_neighbors)
-- and the learned weight (recs.item_learned_weights); each is scaled to its best candidate and
-- they are blended with item_learned_weight the learned share (0: the similarity alone, and the
-- learned weights are not read). Of each similarity list (most similar first) the first
-- item_neighbor_pool_size are read; with item_neighbor_depth_per_weight d > 0 a present of weight
-- w reads only the first item_neighbor_pool_size x min(1, d x w), at least one: a light present
-- (an old like, at the item_history_half_life fading) adds little to any score and the tail of its
-- list least of all (the trade measured: docs/quality.md).
-- Presents not yet synced (p_fresh) count as likes. The user's own presents are scored too: the
-- callers leave them out.
-- Arguments: p_user_key (NULL: only p_fresh); p_fresh (item ids of unsynced interactions);
--   p_history (most recent synced presents read; events at the same time as the last of them are
--   read with it, as the neighbours' votes keep them (recs.rank_collaborative), so a history
--   without an order of its own, every event at one time, is read whole rather than cut by an
--   order it does not have; at most item_neighbor_history_limit synced presents in all, the
--   moment at that bound sampled by a hash of the present; unsynced ones come on top);
--   p_half_life (a present's weight halves every p_half_life steps back in the user's history,
--   unsynced ones being the most recent; a step is a moment: events at the same time are one
--   step, however many, and the time before them the next, so a basket of presents taken together
--   does not push the earlier ones back by its size; 0 = no fading; moments ten half-lives back,
--   under 1/1000, are not read).
-- Result: (item_id, score), one row per present whose blended score is above 0, unordered.
-- Errors: bad settings (22P02). Caller: recs.rank_collaborative.
CREATE OR REPLACE FUNCTION recs.item_neighbor_scores(
    p_user_key integer, p_fresh integer[], p_history integer, p_half_life double precision
)
RETURNS TABLE (item_id integer, score double precision)
LANGUAGE sql STABLE AS $$
WITH history AS (
    SELECT h.item_id, h.weight
    FROM ((SELECT recent.item_id,
                 recent.weight * CASE WHEN p_half_life = 0 THEN 1
                                      WHEN (recent.steps_back / p_half_life) > 1000 THEN 0
                                      ELSE 0.5 ^ (recent.steps_back / p_half_life) END AS weight
          FROM (SELECT top.item_id, top.weight, top.tie_break,
                       dense_rank() OVER (ORDER BY top.last_at DESC) - 1 AS steps_back
                FROM (SELECT x.item_id, x.last_at, hashint4(x.item_id) AS tie_break,
                             -- Each setting a scalar subquery: read once per call (an InitPlan),
                             -- not once per row (recs.setting is PL/pgSQL: ~10 us a call).
                             recs.interaction_weight(x.liked_at IS NOT NULL, x.clicks,
                                                     (SELECT recs.setting('like_weight')::double precision),
                                                     (SELECT recs.setting('click_weight')::double precision),
                                                     (SELECT recs.setting('similarity_click_cap')::integer)) AS weight
                      FROM recs.interactions x
                      WHERE x.user_key = p_user_key
                        -- Ten half-lives back a moment counts under 1/1000: what is older is not
                        -- read. The bound is the oldest of the user's latest 10 x half-life
                        -- moments, one index scan that stops there (where each event has a time
                        -- of its own, as many rows as before moments were counted).
                        AND x.last_at >= CASE WHEN p_half_life > 0 THEN
                                (SELECT min(m.last_at)
                                 FROM (SELECT DISTINCT y.last_at FROM recs.interactions y
                                       WHERE y.user_key = p_user_key
                                       ORDER BY y.last_at DESC
                                       LIMIT least(p_history, ceil(10 * p_half_life)::integer)) m)
                            ELSE '-infinity' END
                      ORDER BY x.last_at DESC
                      FETCH FIRST p_history ROWS WITH TIES) top) recent
          ORDER BY recent.steps_back, recent.tie_break
          LIMIT (SELECT recs.setting('item_neighbor_history_limit')::integer))
          UNION ALL
          SELECT f.item_id, (SELECT recs.setting('like_weight')::double precision) FROM unnest(p_fresh) AS f(item_id)) h
    WHERE h.weight > 0
), scored AS (
    -- Both weights of each candidate in one pass: the similarities of the history's lists, and
    -- the learned weights (not read at a learned share of 0).
    SELECT n.item_id,
           sum(h.weight * n.weight) FILTER (WHERE NOT n.is_learned) AS by_similarity,
           sum(h.weight * n.weight) FILTER (WHERE n.is_learned) AS by_learned
    FROM history h
    CROSS JOIN LATERAL (
        -- Unnested in the select lists (a ProjectSet) rather than in FROM (a function scan, which
        -- copies every element into a tuplestore first): the same rows in the same order, cheaper.
        -- Each list is kept most similar first: a smaller item_neighbor_pool_size applies at once,
        -- before the job refresh_item_neighbors rebuilds the lists to that size; a light present's
        -- list may be read to a depth in proportion to its weight (above).
        SELECT unnest(pool.neighbor_ids[1:s.depth]) AS item_id,
               unnest(pool.similarities[1:s.depth]) AS weight, false AS is_learned
        FROM recs.item_neighbors pool
        CROSS JOIN (SELECT CASE WHEN d.per_weight = 0 THEN d.pool_size
                                ELSE greatest(1, ceil(d.pool_size * least(d.per_weight * h.weight, 1)))::integer
                           END AS depth
                    FROM (SELECT (SELECT recs.setting('item_neighbor_pool_size')::integer) AS pool_size,
                                 (SELECT recs.setting('item_neighbor_depth_per_weight')::double precision)
                                     AS per_weight) d) s
        WHERE pool.item_id = h.item_id
        UNION ALL
        SELECT unnest(w.target_ids), unnest(w.weights), true
        FROM recs.item_learned_weights w
        WHERE w.item_id = h.item_id AND (SELECT recs.setting('item_learned_weight')::double precision) > 0
    ) n
    GROUP BY n.item_id
), blended AS (
    -- Each score scaled to its best candidate (a kind whose best is not above 0 counts nothing).
    SELECT c.item_id,
           (1 - l.share) * CASE WHEN c.best_similarity > 0 THEN coalesce(c.by_similarity, 0) / c.best_similarity
                                ELSE 0 END
           + l.share * CASE WHEN c.best_learned > 0 THEN coalesce(c.by_learned, 0) / c.best_learned ELSE 0 END
               AS score
    FROM (SELECT s.item_id, s.by_similarity, s.by_learned,
                 max(s.by_similarity) OVER () AS best_similarity, max(s.by_learned) OVER () AS best_learned
          FROM scored s) c
    CROSS JOIN (SELECT (SELECT recs.setting('item_learned_weight')::double precision) AS share) l
)
SELECT b.item_id, b.score FROM blended b WHERE b.score > 0;
$$;
COMMENT ON FUNCTION recs.item_neighbor_scores(integer, integer[], integer, double precision) IS
    'Presents scored by the item neighbours of a user''s recent presents: weight x similarity and weight x learned weight, summed, each scaled to its best and blended. Used by the collaborative and content-based tiers.';
