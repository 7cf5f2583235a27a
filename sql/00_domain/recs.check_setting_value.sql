-- recs.check_setting_value: trigger on recs.settings: a value must be of its key's type and within
-- its range (value_type, min_value, max_value of the row), so no stored knob can break a refresh
-- or a request. Booleans are 'true' or 'false'; integers are whole numbers; numbers decimals.
-- Arguments: none (trigger). Result: the row.
-- Errors: 22023 (invalid_parameter_value) naming the key, the rule and the value given.
-- Caller: the settings_check_value trigger (BEFORE INSERT OR UPDATE on recs.settings).
CREATE OR REPLACE FUNCTION recs.check_setting_value() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_rule text := CASE NEW.value_type
        WHEN 'boolean' THEN 'true or false'
        WHEN 'integer' THEN format('an integer from %s to %s', NEW.min_value, NEW.max_value)
        ELSE format('a number from %s to %s', NEW.min_value, NEW.max_value) END;
    v_valid boolean;
BEGIN
    IF NEW.value_type IS NULL OR (NEW.value_type <> 'boolean' AND (NEW.min_value IS NULL OR NEW.max_value IS NULL)) THEN
        RAISE EXCEPTION 'setting % has no rule: give value_type (boolean, integer or number), min_value and max_value',
            NEW.key USING ERRCODE = 'invalid_parameter_value', COLUMN = 'value_type';
    END IF;
    v_valid := CASE NEW.value_type
        WHEN 'boolean' THEN NEW.value IN ('true', 'false')
        WHEN 'integer' THEN NEW.value ~ '^-?[0-9]{1,18}$'
        WHEN 'number' THEN NEW.value ~ '^-?([0-9]{1,18}(\.[0-9]{0,18})?|\.[0-9]{1,18})$'
        ELSE false END;
    IF v_valid AND NEW.value_type <> 'boolean' THEN
        v_valid := NEW.value::numeric BETWEEN NEW.min_value AND NEW.max_value;
    END IF;
    IF NOT coalesce(v_valid, false) THEN
        RAISE EXCEPTION 'setting % must be %, got %', NEW.key, v_rule, coalesce(quote_literal(NEW.value), 'NULL')
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'value';
    END IF;
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION recs.check_setting_value() IS
    'Trigger: a recs.settings value must have its key''s type and lie within its range (22023 naming the key).';
