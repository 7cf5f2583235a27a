-- api.health: is the main database reachable through the FDW, and how fast.
-- Arguments: none. Result: one row (main_reachable, main_latency_ms, main_error).
-- Errors: none of main's (a main-DB failure, its own cancel included, is reported in the row); a
--   cancel of this statement (57014) is raised.
-- Caller: GET /health. SECURITY DEFINER: the FDW uses the owner's user mapping.
CREATE OR REPLACE FUNCTION api.health(
    OUT main_reachable boolean, OUT main_latency_ms double precision, OUT main_error text
)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_context text;
BEGIN
    BEGIN
        PERFORM 1 FROM main.handpicked_presents LIMIT 1;
        main_reachable := true;
        main_latency_ms := round((1000 * date_part('epoch', clock_timestamp() - v_started))::numeric, 2);
    EXCEPTION
        WHEN query_canceled THEN
            -- Main's own cancel degrades as main failing; this statement's cancel goes on.
            GET STACKED DIAGNOSTICS v_context = PG_EXCEPTION_CONTEXT;
            IF NOT recs.cancelled_by_main(v_context) THEN
                RAISE;
            END IF;
            main_reachable := false;
            main_error := SQLERRM;
        WHEN OTHERS THEN
            main_reachable := false;
            main_error := SQLERRM;
    END;
END;
$$;
COMMENT ON FUNCTION api.health() IS
    'Probe the main DB through postgres_fdw (never raises). Called by GET /health.';
