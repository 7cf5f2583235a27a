-- recs.check_age_group: an age group checked against recs.age_groups.
-- Arguments: p_age_group (NULL passes), p_field (the argument's name, for the error).
-- Result: p_age_group. Errors: 22023 (invalid_parameter_value) naming p_field, in the message
--   and in the error's column field (the HTTP layer puts it in the problem's `errors`).
-- Caller: api.popular, api.upsert_user_demographics.
CREATE OR REPLACE FUNCTION recs.check_age_group(p_age_group text, p_field text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_age_group IS NOT NULL AND NOT EXISTS (SELECT 1 FROM recs.age_groups() g WHERE g.age_group = p_age_group) THEN
        RAISE EXCEPTION '% must be one of %, got %', p_field,
            (SELECT string_agg(g.age_group, ', ' ORDER BY g.min_years) FROM recs.age_groups() g), p_age_group
            USING ERRCODE = 'invalid_parameter_value', COLUMN = p_field;
    END IF;
    RETURN p_age_group;
END;
$$;
COMMENT ON FUNCTION recs.check_age_group(text, text) IS
    'The age group if it is one of recs.age_groups(), else error 22023 naming the field.';
