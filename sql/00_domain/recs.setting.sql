-- recs.setting: one value of recs.settings as text: inside a refresh job, as the job found it
-- when it started (the snapshot recs.set_job_limits takes), elsewhere as the table holds it now.
-- Arguments: p_key. Result: the value.
-- Errors: 22023 (invalid_parameter_value) when the key is unknown, naming it.
-- Caller: job, ranking and api functions; migrations may use it (sql/00_domain).
CREATE OR REPLACE FUNCTION recs.setting(p_key text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_snapshot jsonb := nullif(current_setting('recs.settings_snapshot', true), '')::jsonb;
    v_value text;
BEGIN
    IF v_snapshot ? p_key THEN
        RETURN v_snapshot ->> p_key;
    END IF;
    SELECT value INTO v_value FROM recs.settings WHERE key = p_key;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown setting %', p_key USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN v_value;
END;
$$;
COMMENT ON FUNCTION recs.setting(text) IS
    'The text value of a recs.settings key (inside a refresh job: as of the job''s start); error 22023 if unknown.';
