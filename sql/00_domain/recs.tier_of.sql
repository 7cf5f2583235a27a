-- recs.tier_of: the personalisation tier that serves a user with this many interactions on public
-- presents: 0 popular, 1 .. collaborative_min_interactions - 1 content_based, the rest
-- collaborative. The one place the tiers and their thresholds are decided.
-- Arguments: p_interactions. Result: 'popular', 'content_based' or 'collaborative'.
-- Errors: 22023 if the setting is missing, 22P02 if it is not a number.
-- Caller: api.personalized, api.user_profile, recs.report_user_tiers.
CREATE OR REPLACE FUNCTION recs.tier_of(p_interactions bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_interactions = 0 THEN 'popular'
                WHEN p_interactions < recs.setting('collaborative_min_interactions')::integer THEN 'content_based'
                ELSE 'collaborative' END;
$$;
COMMENT ON FUNCTION recs.tier_of(bigint) IS
    'Tier of an interaction count: popular (0), content_based (below collaborative_min_interactions), collaborative.';
