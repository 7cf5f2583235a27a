-- api.dashboard: the numbers of the operator's dashboard that GET /stats does not carry, from small
-- or precomputed sources: each job's recent runs from the run log (the last p_runs per job, an index
-- range each) with its last success and last failure (never the error's text, which may name hosts
-- and roles: it stays in recs.job_runs, as for api.job_status); users per tier (every known user by the
-- interaction count the last similarity run stored in recs.user_stats, a user without one counting
-- 0); catalogue coverage (available public presents, those any user took as of the last similarity
-- run, those in some segment's top 10); and each segment's first p_top presents.
-- Arguments: p_runs (runs per job, 1..200), p_top (presents per segment, 1..10).
-- Result: one jsonb object {jobs, tiers, catalogue, top_presents}.
-- Errors: 22023 for an argument out of range. Caller: GET /admin/dashboard (cached per worker for
--   a short while; measured cost in docs/operations.md).
CREATE OR REPLACE FUNCTION api.dashboard(p_runs integer, p_top integer) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_min_collaborative integer := recs.setting('collaborative_min_interactions')::integer;
BEGIN
    IF p_runs IS NULL OR p_runs NOT BETWEEN 1 AND 200 OR p_top IS NULL OR p_top NOT BETWEEN 1 AND 10 THEN
        RAISE EXCEPTION 'runs must be 1..200 and top 1..10, got % and %', p_runs, p_top
            USING ERRCODE = '22023';
    END IF;
    RETURN jsonb_build_object(
        'jobs', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'job', j.job,
                       'last_success_at', (SELECT max(r.started_at) FROM recs.job_runs r
                                           WHERE r.job = j.job AND r.finished_at IS NOT NULL AND r.error IS NULL),
                       'last_failure_at', (SELECT max(r.started_at) FROM recs.job_runs r
                                           WHERE r.job = j.job AND r.error IS NOT NULL),
                       'runs', coalesce((
                           SELECT jsonb_agg(jsonb_build_object(
                                      'started_at', r.started_at,
                                      'seconds', round((r.duration_ms / 1000)::numeric, 2),
                                      'ok', r.error IS NULL AND r.finished_at IS NOT NULL)
                                  ORDER BY r.started_at)
                           FROM (SELECT r.* FROM recs.job_runs r WHERE r.job = j.job
                                 ORDER BY r.started_at DESC LIMIT p_runs) r), '[]'))
                   ORDER BY j.job)
            FROM (SELECT s.job FROM api.job_status() s) j), '[]'),
        'tiers', (
            SELECT jsonb_build_object(
                       'popular', count(*) FILTER (WHERE coalesce(s.interactions, 0) = 0),
                       'content_based', count(*) FILTER (WHERE s.interactions > 0
                                                          AND s.interactions < v_min_collaborative),
                       'collaborative', count(*) FILTER (WHERE s.interactions >= v_min_collaborative))
            FROM recs.users u LEFT JOIN recs.user_stats s ON s.user_key = u.user_key),
        'catalogue', (
            SELECT jsonb_build_object(
                       'available_presents', (SELECT count(*) FROM recs.items i WHERE i.available),
                       'with_interactions', (SELECT count(*) FROM recs.item_stats),
                       'in_some_top_10', (SELECT count(DISTINCT t.present_id) FROM recs.report_top_presents t))),
        'top_presents', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'gender', t.gender, 'age_group', t.age_group, 'segment_users', t.segment_users,
                       'rank', t.rank, 'present_id', t.present_id, 'category', t.category,
                       'platform', t.platform, 'price', t.price)
                   ORDER BY t.gender, t.age_group, t.rank)
            FROM recs.report_top_presents t WHERE t.rank <= p_top), '[]')
    );
END;
$$;
COMMENT ON FUNCTION api.dashboard(integer, integer) IS
    'Dashboard numbers beside /stats: recent job runs, users per tier, catalogue coverage, top presents per segment. Called by GET /admin/dashboard.';
