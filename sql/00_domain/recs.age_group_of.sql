-- recs.age_group_of: the age group of a birth date on a given day (recs.age_groups' bounds).
-- Arguments: p_birth_date, p_on (default today). Result: the group; NULL for a NULL date.
-- Errors: none. Caller: api.upsert_user_demographics, recs.age_group_is_derived, recs.job_cleanup.
CREATE OR REPLACE FUNCTION recs.age_group_of(p_birth_date date, p_on date DEFAULT current_date) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT g.age_group
    FROM recs.age_groups() g
    WHERE greatest(0, date_part('year', age(p_on, p_birth_date))) >= g.min_years
    ORDER BY g.min_years DESC
    LIMIT 1;
$$;
COMMENT ON FUNCTION recs.age_group_of(date, date) IS 'Age group (under-18 ... 55+) of a birth date on a day; NULL for NULL.';
