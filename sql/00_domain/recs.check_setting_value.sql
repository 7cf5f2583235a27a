-- recs.check_setting_value: trigger on recs.settings: a value must be of its key's type and within
-- its range (value_type, min_value, max_value of the row, recs.check_setting_rule), so no stored
-- knob can break a refresh or a request.
-- Arguments: none (trigger). Result: the row.
-- Errors: 22023 (invalid_parameter_value) naming the key, the rule and the value given.
-- Caller: the settings_check_value trigger (BEFORE INSERT OR UPDATE on recs.settings).
CREATE OR REPLACE FUNCTION recs.check_setting_value() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.value_type IS NULL OR (NEW.value_type <> 'boolean' AND (NEW.min_value IS NULL OR NEW.max_value IS NULL)) THEN
        RAISE EXCEPTION 'setting % has no rule: give value_type (boolean, integer or number), min_value and max_value',
            NEW.key USING ERRCODE = 'invalid_parameter_value', COLUMN = 'value_type';
    END IF;
    PERFORM recs.check_setting_rule(NEW.key, NEW.value, NEW.value_type, NEW.min_value, NEW.max_value);
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION recs.check_setting_value() IS
    'Trigger: a recs.settings value must have its key''s type and lie within its range (22023 naming the key).';
