-- recs.check_variant_overrides: trigger on recs.experiment_variants: overrides must be a JSON
-- object whose keys are recs.settings keys and whose values (JSON strings, numbers or booleans)
-- obey each key's rule (recs.check_setting_rule), as an UPDATE of recs.settings would have to.
-- Arguments: none (trigger). Result: the row.
-- Errors: 22023 (invalid_parameter_value) naming the unknown key, or the key, rule and value.
-- Caller: the experiment_variants_check_overrides trigger (BEFORE INSERT OR UPDATE).
CREATE OR REPLACE FUNCTION recs.check_variant_overrides() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_override record;
    v_rule recs.settings;
BEGIN
    IF jsonb_typeof(NEW.overrides) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'overrides of variant % must be a JSON object of settings', NEW.variant
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'overrides';
    END IF;
    FOR v_override IN SELECT o.key, o.value FROM jsonb_each(NEW.overrides) o LOOP
        SELECT * INTO v_rule FROM recs.settings s WHERE s.key = v_override.key;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown setting % in the overrides of variant %', v_override.key, NEW.variant
                USING ERRCODE = 'invalid_parameter_value', COLUMN = 'overrides';
        END IF;
        IF jsonb_typeof(v_override.value) NOT IN ('string', 'number', 'boolean') THEN
            RAISE EXCEPTION 'setting % must be a JSON string, number or boolean, got %', v_override.key,
                v_override.value USING ERRCODE = 'invalid_parameter_value', COLUMN = 'overrides';
        END IF;
        PERFORM recs.check_setting_rule(v_override.key, v_override.value #>> '{}', v_rule.value_type,
                                        v_rule.min_value, v_rule.max_value);
    END LOOP;
    -- Stored as text values, as recs.settings holds them (recs.setting returns them unchanged).
    NEW.overrides := (SELECT coalesce(jsonb_object_agg(o.key, o.value #>> '{}'), '{}')
                      FROM jsonb_each(NEW.overrides) o);
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION recs.check_variant_overrides() IS
    'Trigger: a variant''s overrides must name known settings with values obeying their rules (22023).';
