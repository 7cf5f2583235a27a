-- recs.gender_of: a gender as the service stores it: m or f, from m, f, male or female in any
-- case with surrounding spaces; the one place genders are normalised.
-- Arguments: p_gender (NULL gives NULL), p_field (the argument's name, for the error).
-- Result: 'm', 'f' or NULL. Errors: 22023 (invalid_parameter_value) naming p_field, in the
--   message and in the error's column field.
-- Caller: api.popular, api.upsert_user_demographics.
CREATE OR REPLACE FUNCTION recs.gender_of(p_gender text, p_field text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    CASE lower(btrim(p_gender))
        WHEN 'm', 'male' THEN RETURN 'm';
        WHEN 'f', 'female' THEN RETURN 'f';
        ELSE
            IF p_gender IS NULL THEN
                RETURN NULL;
            END IF;
            RAISE EXCEPTION '% must be m, f, male or female (any case), got %', p_field, p_gender
                USING ERRCODE = 'invalid_parameter_value', COLUMN = p_field;
    END CASE;
END;
$$;
COMMENT ON FUNCTION recs.gender_of(text, text) IS
    'm/f from m, f, male or female in any case (NULL stays NULL); else error 22023 naming the field.';
