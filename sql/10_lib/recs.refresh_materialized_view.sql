-- recs.refresh_materialized_view: REFRESH ... CONCURRENTLY (readers never blocked) once the view
-- holds data; the very first refresh of an empty view cannot be concurrent, so it is plain.
-- Then ANALYZE, so plans and the row counts GET /stats reports follow the new contents.
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
    PERFORM recs.job_step(p_view::text);
    -- Fresh statistics: the planner sees the new contents, and GET /stats its row count.
    EXECUTE format('ANALYZE %s', p_view);
    PERFORM recs.job_step('analyze');
END;
$$;
COMMENT ON FUNCTION recs.refresh_materialized_view(regclass) IS
    'Refresh a materialized view CONCURRENTLY when populated, plainly the first time; then ANALYZE it.';
