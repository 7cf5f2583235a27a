-- recs.user_profile_rows: the preference profiles of some users (or all), computed from their
-- synced interactions on public presents: interactions, likes, clicks, the 25th-75th percentile
-- of their presents' prices, the top five categories with their share of the user's interaction
-- weight (recs.interaction_weight), platforms by weight, last activity. A category's or
-- platform's weight is rounded to 9 decimals before ranking: a float8 sum depends on the order it
-- adds its terms in (1 + 0.3 + 0.3 + 0.3 > 0.3 + 0.3 + 0.3 + 1), which differs between a run over
-- some users and one over everyone, so equal weights would otherwise flip from run to run instead
-- of being ranked by name.
-- Arguments: p_user_keys, the users (NULL: everyone with interactions); a user without
--   interactions gets no row.
-- Result: rows shaped as recs.user_profiles. Errors: none.
-- Caller: recs.job_refresh_user_profiles.
CREATE OR REPLACE FUNCTION recs.user_profile_rows(p_user_keys integer[])
RETURNS SETOF recs.user_profiles
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    v_like_weight double precision := recs.setting('like_weight')::double precision;
    v_click_weight double precision := recs.setting('click_weight')::double precision;
    v_click_cap integer := recs.setting('similarity_click_cap')::integer;
BEGIN
    RETURN QUERY
    WITH weights AS (
        SELECT x.user_key, i.category, i.platform, i.price, x.liked_at, x.clicks, x.last_at,
               recs.interaction_weight(x.liked_at IS NOT NULL, x.clicks, v_like_weight, v_click_weight,
                                       v_click_cap) AS weight
        FROM recs.interactions x
        JOIN recs.items i ON i.item_id = x.item_id
        WHERE p_user_keys IS NULL OR x.user_key = ANY (p_user_keys)
    ),
    categories AS (
        SELECT user_key, jsonb_object_agg(category, round(share::numeric, 3) ORDER BY share DESC) AS categories
        FROM (SELECT user_key, category, weight / nullif(sum(weight) OVER (PARTITION BY user_key), 0) AS share,
                     row_number() OVER (PARTITION BY user_key ORDER BY round(weight::numeric, 9) DESC, category) AS rank
              FROM (SELECT user_key, category, sum(weight) AS weight FROM weights
                    WHERE category IS NOT NULL GROUP BY user_key, category) c) ranked
        WHERE rank <= 5 AND share IS NOT NULL
        GROUP BY user_key
    ),
    platforms AS (
        SELECT user_key, array_agg(platform ORDER BY round(weight::numeric, 9) DESC, platform) AS platforms
        FROM (SELECT user_key, platform, sum(weight) AS weight FROM weights
              WHERE platform IS NOT NULL GROUP BY user_key, platform) p
        GROUP BY user_key
    ),
    -- Totals per user first, then one row of categories and platforms joined to each: grouping
    -- the interactions by the jsonb and array too spilled 0.6 GB at the target scale (5x slower).
    totals AS (
        SELECT w.user_key,
               count(*)::integer AS interactions,
               count(w.liked_at)::integer AS likes,
               sum(w.clicks)::integer AS clicks,
               percentile_cont(0.25) WITHIN GROUP (ORDER BY w.price) AS price_p25,
               percentile_cont(0.75) WITHIN GROUP (ORDER BY w.price) AS price_p75,
               max(w.last_at) AS last_activity_at
        FROM weights w
        GROUP BY w.user_key
    )
    SELECT t.user_key, t.interactions, t.likes, t.clicks, t.price_p25, t.price_p75, t.last_activity_at,
           c.categories, p.platforms
    FROM totals t
    LEFT JOIN categories c ON c.user_key = t.user_key
    LEFT JOIN platforms p ON p.user_key = t.user_key;
END;
$$;
COMMENT ON FUNCTION recs.user_profile_rows(integer[]) IS
    'Preference profiles (counts, price band, top categories, platforms) of the given users, or of all when NULL. Used by the profile job.';
