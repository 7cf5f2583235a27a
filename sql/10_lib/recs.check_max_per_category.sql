-- recs.check_max_per_category: refuses a max_per_category outside 1..1000 (NULL: no cap).
-- Arguments: p_max_per_category. Result: none.
-- Errors: 22023 naming max_per_category. Caller: api.popular, api.personalized, api.similar.
CREATE OR REPLACE FUNCTION recs.check_max_per_category(p_max_per_category integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_max_per_category NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'max_per_category must be between 1 and 1000, got %', p_max_per_category
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'max_per_category';
    END IF;
END;
$$;
COMMENT ON FUNCTION recs.check_max_per_category(integer) IS
    'Raise 22023 for a max_per_category outside 1..1000 (NULL: no cap). For the api.* ranking functions.';
