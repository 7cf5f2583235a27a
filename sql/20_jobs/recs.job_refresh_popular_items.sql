-- recs.job_refresh_popular_items: sync from main, then refresh the popularity views
-- (recs.popular_items, recs.popular_segments, recs.popular_filter_counts, popular_region_counts)
-- CONCURRENTLY; bumps the 'popular' data version when anything that feeds them changed
-- (events, presents, demographics, erased users, weights).
-- Arguments: none. Result: rows in recs.popular_items after the refresh.
-- Errors: main unreachable, bad settings (the run is logged with the error; old data stays).
-- Caller: recs.run_job('refresh_popular_items') from pg_cron (job "refresh-popular-items",
--   every POPULAR_ITEMS_REFRESH_MINUTES), psql, POST /admin/refresh-popular-items.
CREATE OR REPLACE FUNCTION recs.job_refresh_popular_items() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_version recs.data_versions;
    v_rows bigint;
BEGIN
    PERFORM recs.set_job_limits();
    PERFORM recs.sync_main();
    SELECT * INTO v_version FROM recs.data_versions WHERE name = 'popular';
    -- Any job's sync may have brought the new data: compare with when the views were computed.
    IF v_version.as_of IS NULL
       OR (SELECT changed_at FROM recs.sync_state WHERE source = 'decay') > v_version.as_of
       OR EXISTS (SELECT 1 FROM recs.user_demographics WHERE updated_at >= v_version.as_of)
       OR EXISTS (SELECT 1 FROM recs.user_erasures WHERE erased_at >= v_version.as_of)
       OR EXISTS (SELECT 1 FROM recs.settings WHERE updated_at >= v_version.as_of)
       OR NOT (SELECT relispopulated FROM pg_class WHERE oid = 'recs.popular_items'::regclass) THEN
        PERFORM recs.refresh_materialized_view('recs.popular_items');
        PERFORM recs.refresh_materialized_view('recs.popular_segments');
        PERFORM recs.refresh_materialized_view('recs.popular_filter_counts');
        PERFORM recs.refresh_materialized_view('recs.popular_region_counts');
        PERFORM recs.bump_data_version('popular');
    END IF;
    SELECT count(*) INTO v_rows FROM recs.popular_items;
    RETURN v_rows;
END;
$$;
COMMENT ON FUNCTION recs.job_refresh_popular_items() IS
    'Sync from main and refresh recs.popular_items/popular_segments CONCURRENTLY. CALL recs.run_job(''refresh_popular_items'');';
