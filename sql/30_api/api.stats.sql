-- api.stats: what GET /stats reports from the database, from cheap sources only: main's totals
-- as the last sync counted them (recs.source_totals), rows of each derived table from
-- the planner's statistics (pg_class.reltuples, refreshed by ANALYZE after each full rebuild, and by autovacuum), users
-- with demographics (as the last popularity run counted them), users with a profile and with
-- neighbours (as the last profile and similarity runs counted them), and every
-- job's status as api.job_status gives it. No source is scanned per call: the cost does not grow
-- with the data.
-- Arguments: none. Result: one jsonb object {main_totals, main_totals_counted_at, derived_rows,
--   users, jobs}; a total never counted is absent, a relation never analyzed has rows null.
-- Errors: none. Caller: GET /stats. SECURITY DEFINER: the app role cannot read recs.
CREATE OR REPLACE FUNCTION api.stats() RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN jsonb_build_object(
        'main_totals', coalesce((SELECT jsonb_object_agg(t.name, t.total) FROM recs.source_totals t), '{}'),
        'main_totals_counted_at', (SELECT min(t.counted_at) FROM recs.source_totals t),
        'derived_rows', (
            SELECT jsonb_object_agg(c.relname, CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END
                                    ORDER BY c.relname)
            FROM pg_class c
            WHERE c.relnamespace = 'recs'::regnamespace
              AND c.relname IN ('items', 'users', 'interactions', 'popular_items', 'popular_segments',
                                'popular_filter_counts', 'popular_region_counts', 'user_profiles',
                                'item_stats', 'user_stats', 'user_vectors', 'user_neighbors')
        ),
        'users', jsonb_build_object(
            'with_demographics', coalesce((SELECT (s.details ->> 'users_with_demographics')::bigint
                                           FROM recs.sync_state s WHERE s.source = 'popular_items'), 0),
            -- The table changes only when the profile job writes it, and that run counted it.
            'with_profile', coalesce((SELECT r.rows FROM recs.job_runs r
                                      WHERE r.job = 'refresh_user_profiles' AND r.error IS NULL
                                      ORDER BY r.started_at DESC LIMIT 1), 0),
            'with_neighbors', (SELECT (s.details ->> 'users_with_neighbors')::bigint
                               FROM recs.sync_state s WHERE s.source = 'user_similarities')
        ),
        'jobs', coalesce((SELECT jsonb_agg(to_jsonb(s) ORDER BY s.job) FROM api.job_status() s), '[]')
    );
END;
$$;
COMMENT ON FUNCTION api.stats() IS
    'Totals, derived row counts, users with profiles/neighbours and job status, from cheap sources. Called by GET /stats.';
