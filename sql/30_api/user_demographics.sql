-- api.user_demographics: a user's stored demographics.
-- Arguments: p_user_id. Result: one row (user_id, gender, age_group, birth_date, locale, geo_id,
--   updated_at). Errors: P0002 (no_data_found) when none were stored for this user.
-- Caller: GET /user-profile/{user_id}; api.popular callers that start from a user.
CREATE OR REPLACE FUNCTION api.user_demographics(p_user_id uuid)
RETURNS TABLE (user_id uuid, gender text, age_group text, birth_date date, locale text, geo_id integer,
               updated_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
    SELECT u.user_id, d.gender, d.age_group, d.birth_date, d.locale, d.geo_id, d.updated_at
    FROM recs.users u JOIN recs.user_demographics d ON d.user_key = u.user_key
    WHERE u.user_id = p_user_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no profile for user %', p_user_id USING ERRCODE = 'no_data_found';
    END IF;
END;
$$;
COMMENT ON FUNCTION api.user_demographics(uuid) IS
    'Stored demographics of a user; P0002 if unknown. Called by GET /user-profile/{user_id}.';
