-- recs.distinct_in_order: an array's distinct values in order of first appearance.
-- Arguments: p_values. Result: the array without repeats ('{}' for NULL or empty). Errors: none.
-- Caller: api.popular, api.personalized (levels and tiers used by a page).
CREATE OR REPLACE FUNCTION recs.distinct_in_order(p_values text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(value ORDER BY first_position), '{}')
    FROM (SELECT value, min(position) AS first_position
          FROM unnest(p_values) WITH ORDINALITY AS u(value, position)
          GROUP BY value) d;
$$;
COMMENT ON FUNCTION recs.distinct_in_order(text[]) IS 'Distinct values of an array in order of first appearance.';
