-- recs.cron_field_values: the values one field of a cron schedule allows.
-- Arguments: p_field ('*', '*/15', '1-5', '0,30', '8-18/2'), p_low and p_high (the field's range).
-- Result: the allowed values in order; NULL when the field has a form this parser does not know
--   (names such as 'mon', or values out of range).
-- Errors: none. Caller: recs.cron_next_run.
CREATE OR REPLACE FUNCTION recs.cron_field_values(p_field text, p_low integer, p_high integer)
RETURNS integer[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_part text;
    v_match text[];
    v_from integer;
    v_to integer;
    v_step integer;
    v_values integer[] := '{}';
BEGIN
    FOREACH v_part IN ARRAY string_to_array(p_field, ',') LOOP
        -- '*', 'a', 'a-b', each optionally '/step' except a single value ('a/n' is not cron).
        v_match := regexp_match(v_part, '^(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?$');
        IF v_match IS NULL THEN
            RETURN NULL;
        END IF;
        IF v_match[1] = '*' THEN
            v_from := p_low;
            v_to := p_high;
        ELSE
            IF v_match[3] IS NULL AND v_match[4] IS NOT NULL THEN
                RETURN NULL;
            END IF;
            v_from := v_match[2]::integer;
            v_to := coalesce(v_match[3]::integer, v_from);
        END IF;
        v_step := coalesce(v_match[4]::integer, 1);
        IF v_from < p_low OR v_to > p_high OR v_from > v_to OR v_step < 1 THEN
            RETURN NULL;
        END IF;
        v_values := v_values || ARRAY(SELECT generate_series(v_from, v_to, v_step));
    END LOOP;
    RETURN ARRAY(SELECT DISTINCT v FROM unnest(v_values) v ORDER BY v);
END;
$$;
COMMENT ON FUNCTION recs.cron_field_values(text, integer, integer) IS
    'Values one cron schedule field allows (*, lists, ranges, steps); NULL for forms it does not parse.';
