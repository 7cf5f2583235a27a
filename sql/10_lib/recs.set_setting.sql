-- recs.set_setting: change one knob of recs.settings, as DBAs and tools should (an UPDATE of a
-- misspelled key silently changes nothing; this raises). The value is checked against the key's
-- type and range (recs.check_setting_value); the change reaches the next refresh or request.
-- Arguments: p_key, p_value (text, as stored: '20', '0.3', 'true').
-- Result: the stored row (key, value, value_type, min_value, max_value).
-- Errors: 22023 (invalid_parameter_value) for an unknown key (listing the known ones) or a value
--   of the wrong type or out of range (naming the range).
-- Caller: DBAs (SELECT * FROM recs.set_setting('min_segment_users', '10');), the offline
--   evaluation's --set.
CREATE OR REPLACE FUNCTION recs.set_setting(p_key text, p_value text)
RETURNS TABLE (key text, value text, value_type text, min_value numeric, max_value numeric)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    UPDATE recs.settings s SET value = p_value WHERE s.key = p_key
    RETURNING s.key, s.value, s.value_type, s.min_value, s.max_value;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown setting %; the settings are: %', p_key,
            (SELECT string_agg(s.key, ', ' ORDER BY s.key) FROM recs.settings s)
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'key';
    END IF;
END;
$$;
COMMENT ON FUNCTION recs.set_setting(text, text) IS
    'Change a setting: unknown keys and values of the wrong type or out of range are errors naming them.';
