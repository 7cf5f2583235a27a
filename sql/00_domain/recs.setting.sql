-- recs.setting: one value of recs.settings as text.
-- Arguments: p_key. Result: the value.
-- Errors: 22023 (invalid_parameter_value) when the key is unknown, naming it.
-- Caller: job, ranking and api functions; migrations may use it (sql/00_domain).
CREATE OR REPLACE FUNCTION recs.setting(p_key text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_value text;
BEGIN
    SELECT value INTO v_value FROM recs.settings WHERE key = p_key;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown setting %', p_key USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN v_value;
END;
$$;
COMMENT ON FUNCTION recs.setting(text) IS 'The text value of a recs.settings key; error 22023 if unknown.';
