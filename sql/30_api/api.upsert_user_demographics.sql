-- api.upsert_user_demographics: stores (replaces) a user's demographics; idempotent.
-- Arguments: p_user_id; p_gender m, f, male or female in any case (recs.gender_of), or NULL;
--   p_age_group one of recs.age_groups() or NULL; p_birth_date (gives the age group when
--   p_age_group is NULL; a date in the future counts as age 0, under-18); p_locale; p_geo_id.
-- Result: the stored row (user_id, gender, age_group, birth_date, locale, geo_id, updated_at).
--   updated_at changes only when a value does, and is taken once the user's row is locked, so of
--   two concurrent PUTs the one applied last has the later time (the order of the API's cached
--   copies).
-- Errors: 22023 naming the bad argument (gender, age_group, locale).
-- Caller: PUT /user-profile/{user_id}, api.patch_user_demographics; the demo and evaluation loaders.
CREATE OR REPLACE FUNCTION api.upsert_user_demographics(
    p_user_id uuid, p_gender text, p_age_group text, p_birth_date date, p_locale text, p_geo_id integer
) RETURNS TABLE (user_id uuid, gender text, age_group text, birth_date date, locale text, geo_id integer,
                 updated_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_gender text;
    v_age_group text;
    v_user_key integer;
    v_attempt integer;
BEGIN
    IF p_user_id IS NULL THEN
        RAISE EXCEPTION 'user_id is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_gender := recs.gender_of(p_gender, 'gender');
    v_age_group := coalesce(recs.check_age_group(p_age_group, 'age_group'), recs.age_group_of(p_birth_date));
    IF length(p_locale) > 35 THEN
        RAISE EXCEPTION 'locale must be at most 35 characters'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'locale';
    END IF;

    -- The user's key (recs.user_key_for). An erasure of the user committing meanwhile
    -- (api.erase_user) removes the key this PUT read: the second attempt, on a new snapshot,
    -- stores the user anew.
    FOR v_attempt IN 1..2 LOOP
        BEGIN
            v_user_key := recs.user_key_for(p_user_id);

            INSERT INTO recs.user_demographics AS d (user_key, gender, age_group, birth_date, locale, geo_id,
                                                    updated_at)
            VALUES (v_user_key, v_gender, v_age_group, p_birth_date, p_locale, p_geo_id, clock_timestamp())
            ON CONFLICT (user_key) DO UPDATE
                SET gender = excluded.gender, age_group = excluded.age_group, birth_date = excluded.birth_date,
                    locale = excluded.locale, geo_id = excluded.geo_id,
                    updated_at = CASE WHEN (d.gender, d.age_group, d.birth_date, d.locale, d.geo_id)
                                           IS NOT DISTINCT FROM (excluded.gender, excluded.age_group,
                                                                 excluded.birth_date, excluded.locale,
                                                                 excluded.geo_id)
                                      THEN d.updated_at ELSE clock_timestamp() END;
            EXIT;
        EXCEPTION WHEN foreign_key_violation THEN
            IF v_attempt = 2 THEN
                RAISE;
            END IF;
        END;
    END LOOP;

    RETURN QUERY
    SELECT p_user_id, d.gender, d.age_group, d.birth_date, d.locale, d.geo_id, d.updated_at
    FROM recs.user_demographics d WHERE d.user_key = v_user_key;
END;
$$;
COMMENT ON FUNCTION api.upsert_user_demographics(uuid, text, text, date, text, integer) IS
    'Store a user''s demographics (PUT /user-profile/{user_id}); gender male/female normalised to m/f; age group derived from birth_date when absent.';
