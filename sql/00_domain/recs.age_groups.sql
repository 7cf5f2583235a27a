-- recs.age_groups: the age groups of the service, the one place they are defined: name and the
-- ages in years each covers (max_years NULL: no upper bound), youngest first.
-- Arguments: none. Result: (age_group, min_years, max_years) per group. Errors: none.
-- Caller: recs.age_group_of, recs.check_age_group, recs.unserve_popular, tests comparing the API's enum with it.
CREATE OR REPLACE FUNCTION recs.age_groups()
RETURNS TABLE (age_group text, min_years integer, max_years integer)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT g.age_group, g.min_years, g.max_years
    FROM (VALUES ('under-18', 0, 17), ('18-24', 18, 24), ('25-34', 25, 34), ('35-44', 35, 44),
                 ('45-54', 45, 54), ('55+', 55, NULL)) AS g(age_group, min_years, max_years)
    ORDER BY g.min_years;
$$;
COMMENT ON FUNCTION recs.age_groups() IS
    'The age groups (under-18 ... 55+) and the ages in years each covers: the one definition.';
