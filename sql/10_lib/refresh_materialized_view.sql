-- recs.refresh_materialized_view: REFRESH ... CONCURRENTLY (readers never blocked) once the view
-- holds data; the very first refresh of an empty view cannot be concurrent, so it is plain.
-- Arguments: p_view, the view. Result: none. Errors: those of the view's query.
-- Caller: job functions.
CREATE OR REPLACE FUNCTION recs.refresh_materialized_view(p_view regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT relispopulated FROM pg_class WHERE oid = p_view) THEN
        EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY %s', p_view);
    ELSE
        EXECUTE format('REFRESH MATERIALIZED VIEW %s', p_view);
    END IF;
END;
$$;
COMMENT ON FUNCTION recs.refresh_materialized_view(regclass) IS
    'Refresh a materialized view CONCURRENTLY when populated, plainly the first time.';
