-- recs.cron_next_run: when pg_cron will next start a job with this schedule.
-- Arguments: p_schedule (five fields, or @hourly/@daily/@weekly/@monthly/@yearly), p_after.
-- Result: the first matching minute after p_after, in pg_cron's time zone (GMT unless
--   cron.timezone says otherwise; in a zone with daylight saving, a time in the skipped or
--   repeated hour is resolved as PostgreSQL resolves local times); NULL for schedules it does not
--   parse ('30 seconds', names) or that never match within four years.
-- Errors: none. Caller: recs.job_status.
CREATE OR REPLACE FUNCTION recs.cron_next_run(p_schedule text, p_after timestamptz)
RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_zone text := coalesce(nullif(current_setting('cron.timezone', true), ''), 'GMT');
    v_fields text[];
    v_minutes integer[];
    v_hours integer[];
    v_days integer[];
    v_months integer[];
    v_weekdays integer[];
    v_start timestamp;
    v_day date;
    v_day_matches boolean;
    v_candidate timestamp;
BEGIN
    v_fields := regexp_split_to_array(btrim(CASE lower(btrim(p_schedule))
        WHEN '@hourly' THEN '0 * * * *'
        WHEN '@daily' THEN '0 0 * * *'
        WHEN '@midnight' THEN '0 0 * * *'
        WHEN '@weekly' THEN '0 0 * * 0'
        WHEN '@monthly' THEN '0 0 1 * *'
        WHEN '@yearly' THEN '0 0 1 1 *'
        WHEN '@annually' THEN '0 0 1 1 *'
        ELSE p_schedule END), '\s+');
    IF cardinality(v_fields) <> 5 THEN
        RETURN NULL;
    END IF;
    v_minutes := recs.cron_field_values(v_fields[1], 0, 59);
    v_hours := recs.cron_field_values(v_fields[2], 0, 23);
    v_days := recs.cron_field_values(v_fields[3], 1, 31);
    v_months := recs.cron_field_values(v_fields[4], 1, 12);
    v_weekdays := recs.cron_field_values(v_fields[5], 0, 7);
    IF v_minutes IS NULL OR v_hours IS NULL OR v_days IS NULL OR v_months IS NULL OR v_weekdays IS NULL THEN
        RETURN NULL;
    END IF;
    v_weekdays := ARRAY(SELECT DISTINCT d % 7 FROM unnest(v_weekdays) d);  -- 7 is Sunday too

    v_start := date_trunc('minute', p_after AT TIME ZONE v_zone) + interval '1 minute';
    FOR v_offset IN 0..1461 LOOP
        v_day := v_start::date + v_offset;
        CONTINUE WHEN NOT extract(month FROM v_day)::integer = ANY (v_months);
        -- As in cron: when both day fields are restricted, either may match.
        IF v_fields[3] LIKE '*%' OR v_fields[5] LIKE '*%' THEN
            v_day_matches := extract(day FROM v_day)::integer = ANY (v_days)
                             AND extract(dow FROM v_day)::integer = ANY (v_weekdays);
        ELSE
            v_day_matches := extract(day FROM v_day)::integer = ANY (v_days)
                             OR extract(dow FROM v_day)::integer = ANY (v_weekdays);
        END IF;
        CONTINUE WHEN NOT v_day_matches;
        SELECT min(v_day + make_interval(hours => h, mins => m)) INTO v_candidate
        FROM unnest(v_hours) h, unnest(v_minutes) m
        WHERE v_day + make_interval(hours => h, mins => m) >= v_start;
        IF v_candidate IS NOT NULL THEN
            RETURN v_candidate AT TIME ZONE v_zone;
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION recs.cron_next_run(text, timestamptz) IS
    'Next start of a pg_cron schedule after a time (GMT unless cron.timezone is set); NULL if unparsed.';
