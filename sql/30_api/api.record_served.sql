-- api.record_served: stores a batch of served pages the app recorded (service/online.py flushes
-- its buffer here, about once a second): one recs.served_pages row per page, its presents a uuid[]
-- of present ids in page order, as served (no lookup per present). A page already stored (same
-- recommendation_id) is skipped. The counters recs.online_hourly of known users' pages (hour,
-- route, algorithm, experiment, variant) grow by what this batch stored. The batch comes as
-- parallel arrays, one element per page, and the presents of all pages in one array (the app sends
-- the ids as comma-separated text that its query splits and casts: no JSON to build nor to parse).
-- Arguments: p_ids (uuid), p_at (Unix seconds), p_routes (popular, personalized, similar),
--   p_user_ids (uuid or NULL), p_algorithms, p_experiments, p_variants (or NULL), p_counts (the
--   number of presents on each page), p_items (the present ids of every page, page after page, in
--   page order).
-- Result: one row (pages, presents): pages and impressions stored.
-- Errors: 22023 when the arrays' lengths disagree (p_items must hold sum(p_counts) ids, none
--   NULL); 23514 for an unknown route.
-- Caller: the app's served-page recorder. SECURITY DEFINER: the app role cannot write recs.
CREATE OR REPLACE FUNCTION api.record_served(
    p_ids uuid[], p_at double precision[], p_routes text[], p_user_ids uuid[], p_algorithms text[],
    p_experiments text[], p_variants text[], p_counts integer[], p_items uuid[]
)
RETURNS TABLE (pages bigint, presents bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_pages integer := coalesce(cardinality(p_ids), 0);
    v_counters bigint;  -- counter rows written (read so the data-modifying CTE is kept in view)
BEGIN
    IF ARRAY[cardinality(p_at), cardinality(p_routes), cardinality(p_user_ids), cardinality(p_algorithms),
             cardinality(p_experiments), cardinality(p_variants), cardinality(p_counts)]
           IS DISTINCT FROM array_fill(v_pages, ARRAY[7])
       OR array_position(p_counts, NULL) IS NOT NULL OR 0 > ANY (p_counts) OR array_position(p_items, NULL) IS NOT NULL
       OR coalesce(cardinality(p_items), 0) <> (SELECT coalesce(sum(n), 0) FROM unnest(p_counts) n) THEN
        RAISE EXCEPTION 'the batch''s arrays disagree: one element per page, and the presents of every page in items'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'pages';
    END IF;
    WITH given AS (
        SELECT g.id, g.at, g.route, g.user_id, g.algorithm, g.experiment, g.variant, g.n,
               p_items[g.upto - g.n + 1 : g.upto] AS items
        FROM (
            SELECT u.*, sum(u.n) OVER (ORDER BY u.page ROWS UNBOUNDED PRECEDING)::integer AS upto
            FROM unnest(p_ids, p_at, p_routes, p_user_ids, p_algorithms, p_experiments, p_variants, p_counts)
                 WITH ORDINALITY AS u(id, at, route, user_id, algorithm, experiment, variant, n, page)
        ) g
    ),
    stored AS (
        INSERT INTO recs.served_pages AS sp (recommendation_id, served_at, route, user_id, algorithm, experiment,
                                       variant, presents, items)
        SELECT g.id, to_timestamp(g.at), g.route, g.user_id, g.algorithm, g.experiment, g.variant,
               g.n, coalesce(g.items, '{}')
        FROM given g
        ON CONFLICT (recommendation_id) DO NOTHING
        RETURNING sp.served_at, sp.route, sp.user_id, sp.algorithm, sp.experiment, sp.variant, sp.presents
    ),
    counted AS (
        INSERT INTO recs.online_hourly AS h (hour, route, algorithm, experiment, variant, pages, impressions)
        SELECT date_trunc('hour', s.served_at, 'UTC'), s.route, s.algorithm, s.experiment, s.variant,
               count(*), sum(s.presents)
        FROM stored s
        WHERE s.user_id IS NOT NULL AND s.presents > 0
        GROUP BY 1, 2, 3, 4, 5
        ORDER BY 1, 2, 3, 4, 5  -- one lock order for concurrent batches: no deadlock on the counters
        ON CONFLICT ON CONSTRAINT online_hourly_key DO UPDATE
        SET pages = h.pages + excluded.pages, impressions = h.impressions + excluded.impressions
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM stored), (SELECT coalesce(sum(s.presents), 0) FROM stored s),
           (SELECT count(*) FROM counted) INTO pages, presents, v_counters;
    RETURN NEXT;
END;
$$;
COMMENT ON FUNCTION api.record_served(uuid[], double precision[], text[], uuid[], text[], text[], text[], integer[], uuid[]) IS
    'Store a batch of served pages (ids, route, user, algorithm, variant, presents in page order) given as parallel arrays. Called by the app''s recorder.';
