-- recs.spread_lookahead: how far past a page's end recs.spread_by_category may reach for presents
-- of other categories: two pages' worth when a max_per_category applies, else 0. The ranking
-- functions rank that much deeper.
-- Arguments: p_limit (page size), p_max_per_category (NULL: no cap). Result: presents.
-- Errors: none. Caller: recs.spread_by_category; api.popular, api.personalized, api.similar (how deep
--   to rank).
CREATE OR REPLACE FUNCTION recs.spread_lookahead(p_limit integer, p_max_per_category integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_max_per_category IS NULL THEN 0 ELSE 2 * p_limit END;
$$;
COMMENT ON FUNCTION recs.spread_lookahead(integer, integer) IS
    'Extra ranking depth for max_per_category: two pages when capped, else 0.';
