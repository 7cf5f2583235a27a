-- recs.job_refresh_user_similarities: keeps recs.user_neighbors (each user's neighbour pool) current.
--   1. syncs from main; rebuilds recs.item_stats (IUF), recs.user_stats (norms), the degree cap
--      (the most users a present may have to enter the neighbour search, from
--      similarity_candidate_budget and similarity_item_degree_cap) and the unit-length vectors in
--      recs.user_vectors (all of them on a full run, the changed users' otherwise);
--   2. full run (first run, every similarity_full_rebuild_hours, or after neighbor_pool_size,
--      similarity_candidate_budget or similarity_item_degree_cap changed): every user
--      with at least min_interactions_for_similarity interactions; else incremental: only the
--      users recs.dirty_users marks as changed since the last run (about 2 ms per user);
--   3. writes the new rows in one transaction (readers keep seeing the old ones until commit),
--      and counts the users who have neighbours (sync_state details, read by api.stats).
-- Arguments: none. Result: users whose neighbours were computed.
-- Errors: main unreachable, bad settings (logged by recs.run_job; old neighbours stay).
-- Caller: recs.run_job('refresh_user_similarities') from pg_cron (job "refresh-user-similarities",
--   hourly), psql, POST /admin/update-user-similarities.
CREATE OR REPLACE FUNCTION recs.job_refresh_user_similarities() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_min integer := recs.setting('min_interactions_for_similarity')::integer;
    v_pool integer := recs.setting('neighbor_pool_size')::integer;
    v_like double precision := recs.setting('like_weight')::double precision;
    v_click double precision := recs.setting('click_weight')::double precision;
    v_click_cap integer := recs.setting('similarity_click_cap')::integer;
    v_rebuild_hours integer := recs.setting('similarity_full_rebuild_hours')::integer;
    v_fixed_cap integer := recs.setting('similarity_item_degree_cap')::integer;
    v_budget bigint := recs.setting('similarity_candidate_budget')::bigint;
    v_cap integer;
    v_state recs.sync_state;
    v_started timestamptz := now();
    v_full boolean;
    v_users integer[];
    v_all_users bigint;
    v_with_neighbors bigint;
BEGIN
    PERFORM recs.set_job_limits();
    PERFORM recs.sync_main();

    SELECT count(DISTINCT x.user_key) INTO v_all_users FROM recs.interactions x;
    DELETE FROM recs.item_stats;
    INSERT INTO recs.item_stats (item_id, users, iuf)
    SELECT x.item_id, count(*),
           CASE WHEN recs.setting('similarity_iuf')::boolean
                THEN ln((1 + v_all_users)::double precision / (1 + count(*))) ELSE 1 END
    FROM recs.interactions x GROUP BY x.item_id;
    DELETE FROM recs.user_stats;
    INSERT INTO recs.user_stats (user_key, interactions, norm)
    SELECT x.user_key, count(*),
           sqrt(sum((recs.interaction_weight(x.liked_at IS NOT NULL, x.clicks, v_like, v_click, v_click_cap)
                     * s.iuf) ^ 2))
    FROM recs.interactions x JOIN recs.item_stats s ON s.item_id = x.item_id
    GROUP BY x.user_key;
    ANALYZE recs.item_stats, recs.user_stats;
    PERFORM recs.job_step('similarity.item_and_user_stats');

    -- The degree cap: presents enter the neighbour search from the least liked up while the
    -- candidate rows they generate (each of a present's users meets every other one) stay within
    -- the budget; a fixed cap, if set, limits it further. Presents of one degree enter together.
    SELECT coalesce(max(d.users), 0) INTO v_cap
    FROM (SELECT s.users, sum(s.users::bigint * (s.users - 1)) OVER (ORDER BY s.users) AS rows_so_far
          FROM recs.item_stats s) d
    WHERE d.rows_so_far <= v_budget;
    IF v_fixed_cap > 0 THEN
        v_cap := least(v_cap, v_fixed_cap);
    END IF;

    SELECT * INTO v_state FROM recs.sync_state WHERE source = 'user_similarities' FOR UPDATE;
    v_full := v_state IS NULL OR v_state.full_synced_at IS NULL
              OR NOT EXISTS (SELECT 1 FROM recs.user_vectors)  -- unlogged: empty after a crash
              OR v_state.full_synced_at < now() - make_interval(hours => v_rebuild_hours)
              OR (v_state.details ->> 'pool')::integer IS DISTINCT FROM v_pool
              OR (v_state.details ->> 'candidate_budget')::bigint IS DISTINCT FROM v_budget
              OR (v_state.details ->> 'fixed_degree_cap')::integer IS DISTINCT FROM v_fixed_cap;

    -- A full run rewrites every vector; otherwise only the changed users' (with today's IUF),
    -- the rest keeping theirs until the next full rebuild.
    IF v_full THEN
        TRUNCATE recs.user_vectors;
        DELETE FROM recs.user_neighbors;
    ELSE
        DELETE FROM recs.user_vectors v USING recs.dirty_users d WHERE v.user_key = d.user_key;
        DELETE FROM recs.user_neighbors n USING recs.dirty_users d WHERE n.user_key = d.user_key;
    END IF;
    INSERT INTO recs.user_vectors (user_key, item_id, value, candidate)
    SELECT x.user_key, x.item_id,
           recs.interaction_weight(x.liked_at IS NOT NULL, x.clicks, v_like, v_click, v_click_cap) * s.iuf / u.norm,
           s.users <= v_cap
    FROM recs.interactions x
    JOIN recs.item_stats s ON s.item_id = x.item_id
    JOIN recs.user_stats u ON u.user_key = x.user_key AND u.norm > 0
    WHERE v_full OR EXISTS (SELECT 1 FROM recs.dirty_users d WHERE d.user_key = x.user_key)
    ORDER BY x.user_key;
    SELECT array_agg(s.user_key) INTO v_users
    FROM recs.user_stats s
    WHERE s.interactions >= v_min
      AND (v_full OR EXISTS (SELECT 1 FROM recs.dirty_users d WHERE d.user_key = s.user_key));
    ANALYZE recs.user_vectors;
    PERFORM recs.job_step('similarity.vectors');
    DELETE FROM recs.dirty_users WHERE changed_at <= v_started;

    INSERT INTO recs.user_neighbors (user_key, neighbor_key, similarity)
    SELECT c.user_key, c.neighbor_key, c.similarity FROM recs.compute_neighbors(coalesce(v_users, '{}')) c;
    PERFORM recs.job_step('similarity.neighbors');

    IF v_full THEN
        ANALYZE recs.user_neighbors;  -- every row is new: plans and GET /stats follow
        PERFORM recs.job_step('similarity.analyze');
    END IF;
    -- Users with at least one neighbour, for GET /stats: one index probe per eligible user.
    SELECT count(*) INTO v_with_neighbors
    FROM recs.user_stats s
    CROSS JOIN LATERAL (SELECT 1 FROM recs.user_neighbors n WHERE n.user_key = s.user_key LIMIT 1) has
    WHERE s.interactions >= v_min;
    PERFORM recs.job_step('similarity.users_with_neighbors_counted');

    INSERT INTO recs.sync_state AS s (source, synced_at, full_synced_at, details)
    VALUES ('user_similarities', v_started, CASE WHEN v_full THEN v_started END,
            jsonb_build_object('pool', v_pool, 'candidate_budget', v_budget, 'fixed_degree_cap', v_fixed_cap,
                               'degree_cap', v_cap, 'users_with_neighbors', v_with_neighbors))
    ON CONFLICT (source) DO UPDATE
        SET synced_at = excluded.synced_at, details = excluded.details,
            full_synced_at = coalesce(excluded.full_synced_at, s.full_synced_at);
    IF coalesce(cardinality(v_users), 0) > 0 OR v_full THEN
        PERFORM recs.bump_data_version('personalized');
    END IF;
    RETURN coalesce(cardinality(v_users), 0);
END;
$$;
COMMENT ON FUNCTION recs.job_refresh_user_similarities() IS
    'Sync, rebuild IUF and norms, then recompute each user''s neighbour pool (all users, or only changed ones). CALL recs.run_job(''refresh_user_similarities'');';
