-- api.sequence_usage: how far each sequence of the recs schema has come towards its limit, for
-- alerts long before one runs out (an exhausted sequence stops every refresh for good).
-- Arguments: none. Result: (sequence_name, last_value (NULL before first use), max_value, used:
--   last_value / max_value) per sequence. Errors: none.
-- Caller: GET /metrics (mysanta_sequence_used_ratio); DBAs (SELECT * FROM api.sequence_usage();).
CREATE OR REPLACE FUNCTION api.sequence_usage()
RETURNS TABLE (sequence_name text, last_value bigint, max_value bigint, used double precision)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.schemaname || '.' || s.sequencename, s.last_value, s.max_value,
           coalesce(s.last_value, 0)::double precision / s.max_value
    FROM pg_sequences s
    WHERE s.schemaname = 'recs'
    ORDER BY 1;
$$;
COMMENT ON FUNCTION api.sequence_usage() IS
    'Each recs sequence''s last value, limit and share used. Called by GET /metrics.';
