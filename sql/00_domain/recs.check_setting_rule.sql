-- recs.check_setting_rule: whether a value obeys a setting's rule (its type and range), the one
-- check behind recs.settings' trigger and the experiment variants' overrides. Booleans are 'true'
-- or 'false'; integers are whole numbers; numbers decimals; both within [p_min_value, p_max_value].
-- Arguments: p_key (for the message), p_value (the text stored or overridden), p_value_type
--   ('boolean', 'integer' or 'number'), p_min_value, p_max_value.
-- Result: none. Errors: 22023 (invalid_parameter_value) naming the key, the rule and the value.
-- Caller: recs.check_setting_value, recs.check_variant_overrides.
CREATE OR REPLACE FUNCTION recs.check_setting_rule(
    p_key text, p_value text, p_value_type text, p_min_value numeric, p_max_value numeric
) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_rule text := CASE p_value_type
        WHEN 'boolean' THEN 'true or false'
        WHEN 'integer' THEN format('an integer from %s to %s', p_min_value, p_max_value)
        ELSE format('a number from %s to %s', p_min_value, p_max_value) END;
    v_valid boolean;
BEGIN
    v_valid := CASE p_value_type
        WHEN 'boolean' THEN p_value IN ('true', 'false')
        WHEN 'integer' THEN p_value ~ '^-?[0-9]{1,18}$'
        WHEN 'number' THEN p_value ~ '^-?([0-9]{1,18}(\.[0-9]{0,18})?|\.[0-9]{1,18})$'
        ELSE false END;
    IF v_valid AND p_value_type <> 'boolean' THEN
        v_valid := p_value::numeric BETWEEN p_min_value AND p_max_value;
    END IF;
    IF NOT coalesce(v_valid, false) THEN
        RAISE EXCEPTION 'setting % must be %, got %', p_key, v_rule, coalesce(quote_literal(p_value), 'NULL')
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'value';
    END IF;
END;
$$;
COMMENT ON FUNCTION recs.check_setting_rule(text, text, text, numeric, numeric) IS
    'Raise 22023 unless a value has the type and lies in the range of a setting''s rule.';
