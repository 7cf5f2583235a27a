-- recs.refresh_materialized_view: REFRESH ... CONCURRENTLY (readers never blocked) once the view
-- is populated (views are created populated; one that is not gets a plain first refresh). Then
-- builds the indexes recs.deferred_indexes holds for the view (a new installation's first
-- load: built once over the new rows, not maintained row by row), and ANALYZE, so plans and
-- the row counts GET /stats reports follow the new contents.
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
    IF EXISTS (SELECT 1 FROM recs.deferred_indexes d WHERE d.view_name = p_view) THEN
        PERFORM recs.create_indexes(array_agg(d.definition ORDER BY d.index_name))
        FROM recs.deferred_indexes d WHERE d.view_name = p_view;
        DELETE FROM recs.deferred_indexes d WHERE d.view_name = p_view;
        PERFORM recs.job_step(p_view::text || '.deferred_indexes');
    END IF;
    -- Fresh statistics: the planner sees the new contents, and GET /stats its row count.
    EXECUTE format('ANALYZE %s', p_view);
    PERFORM recs.job_step('analyze');
END;
$$;
COMMENT ON FUNCTION recs.refresh_materialized_view(regclass) IS
    'Refresh a materialized view CONCURRENTLY when populated (plainly if not), build its deferred indexes (recs.deferred_indexes), then ANALYZE it.';
