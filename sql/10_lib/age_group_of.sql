-- recs.age_group_of: the age group of a birth date on a given day.
-- Arguments: p_birth_date, p_on (default today). Result: 'under-18', '18-24', '25-34', '35-44',
--   '45-54' or '55+'; NULL for a NULL date. Errors: none.
-- Caller: api.upsert_user_demographics.
CREATE OR REPLACE FUNCTION recs.age_group_of(p_birth_date date, p_on date DEFAULT current_date) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_birth_date IS NULL THEN NULL
        WHEN age(p_on, p_birth_date) < interval '18 years' THEN 'under-18'
        WHEN age(p_on, p_birth_date) < interval '25 years' THEN '18-24'
        WHEN age(p_on, p_birth_date) < interval '35 years' THEN '25-34'
        WHEN age(p_on, p_birth_date) < interval '45 years' THEN '35-44'
        WHEN age(p_on, p_birth_date) < interval '55 years' THEN '45-54'
        ELSE '55+'
    END;
$$;
COMMENT ON FUNCTION recs.age_group_of(date, date) IS 'Age group (under-18 ... 55+) of a birth date on a day.';
