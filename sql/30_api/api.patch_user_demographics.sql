-- api.patch_user_demographics: applies a JSON merge patch (RFC 7396) to a user's demographics: a
-- key present sets its field (JSON null clears it), a key absent keeps the stored value. A
-- birth_date without an age_group re-derives the age group from the birth date, as does any patch
-- without an age_group of a user whose stored group came from their birth date. A user without
-- stored demographics starts from all fields NULL. Patches of one user are applied one at a time.
-- Arguments: p_user_id; p_patch, a jsonb object with any of gender, age_group, birth_date
--   (YYYY-MM-DD), locale, geo_id.
-- Result: the stored row, as api.upsert_user_demographics returns it (which stores it and checks
--   the values).
-- Errors: 22023 naming the bad field (an unknown key, or a value api.upsert_user_demographics
--   refuses); 22P02/22007/22008 for a birth_date or geo_id of the wrong type.
-- Caller: PATCH /user-profile/{user_id}.
CREATE OR REPLACE FUNCTION api.patch_user_demographics(p_user_id uuid, p_patch jsonb)
RETURNS TABLE (user_id uuid, gender text, age_group text, birth_date date, locale text, geo_id integer,
               updated_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_stored recs.user_demographics;
    v_unknown text;
BEGIN
    IF p_user_id IS NULL THEN
        RAISE EXCEPTION 'user_id is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_typeof(p_patch) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'the patch must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT k INTO v_unknown
    FROM jsonb_object_keys(p_patch) k
    WHERE k NOT IN ('gender', 'age_group', 'birth_date', 'locale', 'geo_id')
    LIMIT 1;
    IF v_unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown field %', v_unknown USING ERRCODE = 'invalid_parameter_value', COLUMN = v_unknown;
    END IF;
    -- Two patches of one user must not both start from the same stored row (a lost update).
    PERFORM pg_advisory_xact_lock(hashtextextended('patch_user_demographics:' || p_user_id::text, 0));
    SELECT d.* INTO v_stored
    FROM recs.users u JOIN recs.user_demographics d USING (user_key)
    WHERE u.user_id = p_user_id;

    RETURN QUERY
    SELECT * FROM api.upsert_user_demographics(
        p_user_id,
        CASE WHEN p_patch ? 'gender' THEN p_patch ->> 'gender' ELSE v_stored.gender END,
        CASE WHEN p_patch ? 'age_group' THEN p_patch ->> 'age_group'
             WHEN p_patch ? 'birth_date' THEN NULL
             -- A group the stored birth date gave is derived again (today's), not kept as sent:
             -- kept, it would look sent explicitly, and the cleanup job would no longer move it.
             WHEN recs.age_group_is_derived(v_stored.age_group, v_stored.birth_date, v_stored.updated_at::date)
                  THEN NULL
             ELSE v_stored.age_group END,
        CASE WHEN p_patch ? 'birth_date' THEN (p_patch ->> 'birth_date')::date ELSE v_stored.birth_date END,
        CASE WHEN p_patch ? 'locale' THEN p_patch ->> 'locale' ELSE v_stored.locale END,
        CASE WHEN p_patch ? 'geo_id' THEN (p_patch ->> 'geo_id')::integer ELSE v_stored.geo_id END);
END;
$$;
COMMENT ON FUNCTION api.patch_user_demographics(uuid, jsonb) IS
    'Merge-patch a user''s demographics (PATCH /user-profile/{user_id}): present keys set (null clears), absent keys keep.';
