-- recs.setting: one value of recs.settings as text: inside a refresh job, as the job found it
-- when it started (the snapshot recs.set_job_limits takes); else the transaction's experiment
-- variant overrides when they name the key (the GUC recs.setting_overrides, a jsonb object of
-- text values the app sets transaction-locally before ranking a page of a user in a variant:
-- recs.experiment_variants, validated on write); else as the table holds it now.
-- Arguments: p_key. Result: the value.
-- Errors: 22023 (invalid_parameter_value) when the key is unknown, naming it.
-- Caller: job, ranking and api functions; migrations may use it (sql/00_domain).
CREATE OR REPLACE FUNCTION recs.setting(p_key text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_snapshot jsonb := nullif(current_setting('recs.settings_snapshot', true), '')::jsonb;
    v_overrides jsonb;
    v_value text;
BEGIN
    IF v_snapshot ? p_key THEN
        RETURN v_snapshot ->> p_key;
    END IF;
    v_overrides := nullif(current_setting('recs.setting_overrides', true), '')::jsonb;
    IF v_overrides ? p_key THEN
        RETURN v_overrides ->> p_key;
    END IF;
    SELECT value INTO v_value FROM recs.settings WHERE key = p_key;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown setting %', p_key USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN v_value;
END;
$$;
COMMENT ON FUNCTION recs.setting(text) IS
    'The text value of a recs.settings key (inside a refresh job: as of the job''s start; in an experiment variant''s ranking: its override); error 22023 if unknown.';
