-- api.record_served: stores a batch of served pages the app recorded (service/online.py flushes
-- its buffer here, about once a second): one recs.served_pages row per page and one
-- recs.served_presents row per present on it (a present no longer in recs.items is left out). A
-- page already stored (same recommendation_id) is skipped. The counters recs.online_hourly of known
-- users' pages (hour, route, algorithm, experiment, variant) grow by what this batch stored.
-- Arguments: p_pages: a JSON array of {id (uuid), at (Unix seconds), route (popular,
--   personalized, similar), user_id (uuid or null), algorithm, experiment, variant (or null),
--   items (present ids in page order)}.
-- Result: one row (pages, presents): rows stored.
-- Errors: 22023 when p_pages is not an array; 23514 for an unknown route; 22P02 for a bad uuid.
-- Caller: the app's served-page recorder. SECURITY DEFINER: the app role cannot write recs.
CREATE OR REPLACE FUNCTION api.record_served(p_pages jsonb)
RETURNS TABLE (pages bigint, presents bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_counters bigint;  -- counter rows written (read so the data-modifying CTE is kept in view)
BEGIN
    IF jsonb_typeof(p_pages) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'pages must be a JSON array' USING ERRCODE = 'invalid_parameter_value', COLUMN = 'pages';
    END IF;
    WITH given AS (
        SELECT r.id, r.at, r.route, r.user_id, r.algorithm, r.experiment, r.variant, r.items
        FROM jsonb_to_recordset(p_pages) AS r(id uuid, at double precision, route text, user_id uuid,
                                              algorithm text, experiment text, variant text, items uuid[])
    ),
    stored AS (
        INSERT INTO recs.served_pages (recommendation_id, served_at, route, user_id, algorithm, experiment,
                                       variant, presents)
        SELECT g.id, to_timestamp(g.at), g.route, g.user_id, g.algorithm, g.experiment, g.variant,
               coalesce(cardinality(g.items), 0)
        FROM given g
        ON CONFLICT (recommendation_id) DO NOTHING
        RETURNING recommendation_id, served_at, user_id
    ),
    stored_presents AS (
        INSERT INTO recs.served_presents (recommendation_id, position, item_id, user_id, served_at)
        SELECT s.recommendation_id, x.position, i.item_id, s.user_id, s.served_at
        FROM stored s
        JOIN given g ON g.id = s.recommendation_id
        CROSS JOIN LATERAL unnest(g.items) WITH ORDINALITY AS x(present_id, position)
        JOIN recs.items i ON i.present_id = x.present_id
        RETURNING recommendation_id, user_id, served_at
    ),
    page_counts AS (
        SELECT sp.recommendation_id, count(*) AS impressions
        FROM stored_presents sp
        WHERE sp.user_id IS NOT NULL
        GROUP BY sp.recommendation_id
    ),
    counted AS (
        INSERT INTO recs.online_hourly AS h (hour, route, algorithm, experiment, variant, pages, impressions)
        SELECT date_trunc('hour', to_timestamp(g.at), 'UTC'), g.route, g.algorithm, g.experiment, g.variant,
               count(*), sum(c.impressions)
        FROM page_counts c
        JOIN given g ON g.id = c.recommendation_id
        GROUP BY 1, 2, 3, 4, 5
        ORDER BY 1, 2, 3, 4, 5  -- one lock order for concurrent batches: no deadlock on the counters
        ON CONFLICT ON CONSTRAINT online_hourly_key DO UPDATE
        SET pages = h.pages + excluded.pages, impressions = h.impressions + excluded.impressions
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM stored), (SELECT count(*) FROM stored_presents),
           (SELECT count(*) FROM counted) INTO pages, presents, v_counters;
    RETURN NEXT;
END;
$$;
COMMENT ON FUNCTION api.record_served(jsonb) IS
    'Store a batch of served pages (ids, route, user, algorithm, variant, presents by position). Called by the app''s recorder.';
