-- recs.popularity_share: how much of a user's neighbourhood ranking the global popular ranking
-- takes (recs.rank_collaborative's prior): 2^(-s / k), k = popularity_prior_users, s the support
-- of the user's presents: the interactions of other users with them (each present's interacting
-- users in recs.item_stats, the counts the neighbours are computed from, less the user where the
-- present is synced), summed over the user's neighbor_history_limit most recent synced presents
-- (events at the same time sampled by a hash of the present; the item score reads them all, but
-- the support of that many presents is large unless few others took them) and the unsynced
-- ones. Neighbours are found through the users who took the user's presents: without support a
-- user is ranked by popularity, and the share halves with every k interactions of others behind
-- their presents; under 1/1000 (s above about 10 k) it is 0.
-- Arguments: p_user_key (NULL: only p_fresh); p_fresh (item ids of unsynced interactions; NULL:
--   none).
-- Result: the share, 0 .. 1 (0 with popularity_prior_users 0; 1 without any support).
-- Errors: none of its own. Caller: api.personalized (collaborative and content-based tiers).
CREATE OR REPLACE FUNCTION recs.popularity_share(p_user_key integer, p_fresh integer[])
RETURNS double precision
LANGUAGE plpgsql STABLE
-- One plan per session: the statement's shape does not depend on the arguments.
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_prior double precision := recs.setting('popularity_prior_users')::double precision;
    v_history integer := recs.setting('neighbor_history_limit')::integer;
    v_support double precision;
BEGIN
    IF v_prior = 0 THEN
        RETURN 0;
    END IF;
    SELECT coalesce(sum(greatest(s.users - mine.synced::integer, 0)), 0) INTO v_support
    FROM (SELECT h.item_id, bool_or(h.synced) AS synced  -- a synced present counts the user
          FROM ((SELECT x.item_id, true AS synced FROM recs.interactions x
                 WHERE x.user_key = p_user_key
                 ORDER BY x.last_at DESC, hashint4(x.item_id)
                 LIMIT v_history)
                UNION ALL
                SELECT f.item_id, false FROM unnest(p_fresh) AS f(item_id)) h
          GROUP BY h.item_id) mine
    JOIN recs.item_stats s ON s.item_id = mine.item_id;
    -- 2^-9.97 = 1/1000: a smaller share is 0 (and 0.5 ^ a large power would underflow).
    RETURN CASE WHEN v_support / v_prior > 9.97 THEN 0 ELSE 0.5 ^ (v_support / v_prior) END;
END;
$$;
COMMENT ON FUNCTION recs.popularity_share(integer, integer[]) IS
    'The popularity prior''s share in a user''s neighbourhood ranking: 2^(-(other users'' interactions with the user''s recent presents) / popularity_prior_users), 0 under 1/1000. Used by api.personalized.';
