-- api.user_profile: what the service knows about a user: synced demographics, the preference
-- profile from the last profile refresh, and the tier that would serve the user now.
-- Arguments: p_user_id. Result: one row; demographics or profile columns are NULL when unknown.
--   tier: recs.tier_of the synced interaction count. profile_version, personalized_version and
--   synced_version: the data versions the row was read from (the API's copy is valid while they
--   are current).
-- Errors: P0002 (no_data_found) when the user has neither demographics nor interactions.
-- Caller: GET /user-profile/{user_id}, PUT /user-profile/{user_id} (its response).
CREATE OR REPLACE FUNCTION api.user_profile(p_user_id uuid)
RETURNS TABLE (user_id uuid, gender text, age_group text, birth_date date, locale text, geo_id integer,
               demographics_updated_at timestamptz, interactions integer, likes integer, clicks integer,
               price_p25 double precision, price_p75 double precision, categories jsonb, platforms text[],
               last_activity_at timestamptz, neighbors integer, tier text, profile_version bigint,
               profile_as_of timestamptz, personalized_version bigint, synced_version bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_user_key integer;
    v_synced integer;
BEGIN
    SELECT u.user_key INTO v_user_key FROM recs.users u WHERE u.user_id = p_user_id;
    SELECT count(*) INTO v_synced FROM recs.interactions x WHERE x.user_key = v_user_key;
    IF v_user_key IS NULL
       OR (v_synced = 0 AND NOT EXISTS (SELECT 1 FROM recs.user_demographics d WHERE d.user_key = v_user_key)) THEN
        RAISE EXCEPTION 'no profile for user %', p_user_id USING ERRCODE = 'no_data_found';
    END IF;
    RETURN QUERY
    SELECT p_user_id, d.gender, d.age_group, d.birth_date, d.locale, d.geo_id, d.updated_at,
           coalesce(p.interactions, 0), coalesce(p.likes, 0), coalesce(p.clicks, 0),
           p.price_p25, p.price_p75, coalesce(p.categories, '{}'::jsonb), coalesce(p.platforms, '{}'),
           p.last_activity_at,
           coalesce((SELECT cardinality(n.neighbor_keys) FROM recs.user_neighbors n WHERE n.user_key = v_user_key), 0),
           recs.tier_of(v_synced),
           v.version, v.as_of,
           coalesce((SELECT n.version FROM recs.data_versions n WHERE n.name = 'personalized'), 0),
           coalesce((SELECT n.version FROM recs.data_versions n WHERE n.name = 'synced'), 0)
    FROM (SELECT 1) one
    LEFT JOIN recs.user_demographics d ON d.user_key = v_user_key
    LEFT JOIN recs.user_profiles p ON p.user_key = v_user_key
    LEFT JOIN recs.data_versions v ON v.name = 'profiles';
END;
$$;
COMMENT ON FUNCTION api.user_profile(uuid) IS
    'Demographics, preference profile and serving tier of a user; P0002 if unknown. Called by GET/PUT /user-profile/{user_id}.';
