-- recs.permute: an array's elements in another order (p_order: 1-based positions, as
-- recs.spread_by_category gives them), so a ranking's parallel arrays (ids, tiers, levels) move
-- together.
-- Arguments: p_values, p_order. Result: p_values[p_order[1]], p_values[p_order[2]], ...
-- Errors: none. Caller: api.popular, api.personalized, api.similar.
CREATE OR REPLACE FUNCTION recs.permute(p_values anyarray, p_order integer[]) RETURNS anyarray
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(p_values[o.position] ORDER BY o.rank), p_values[0:0])
    FROM unnest(p_order) WITH ORDINALITY AS o(position, rank);
$$;
COMMENT ON FUNCTION recs.permute(anyarray, integer[]) IS
    'An array reordered by 1-based positions (for the parallel arrays of a diversified ranking).';
