-- recs.job_refresh_user_similarities: keeps recs.user_neighbors (each user's neighbour pool) current.
--   1. syncs from main; updates recs.item_stats (users, IUF) and recs.user_stats (norms): rebuilt on
--      a full run, otherwise moved by the changed users' pairs only; derives the degree cap
--      (the most users a present may have to enter the neighbour search, from
--      similarity_candidate_budget and similarity_item_degree_cap);
--      writes the unit-length vectors in recs.user_vectors (all of them on a full run, the changed
--      users' otherwise) and, by present within the cap, in recs.item_vectors (all, or the
--      presents the changed users had or have);
--   2. full run (first run, every similarity_full_rebuild_hours, or after neighbor_pool_size,
--      similarity_candidate_budget, similarity_item_degree_cap or similarity_iuf changed): every user
--      with at least min_interactions_for_similarity interactions, each ranked by
--      recs.neighbor_pool, shared among the job's backend and similarity_parallel_workers
--      parallel workers; else incremental: only the users recs.dirty_users marks as changed
--      since the last run, ranked by the job's backend;
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
    v_iuf boolean := recs.setting('similarity_iuf')::boolean;
    v_state recs.sync_state;
    v_started timestamptz := now();
    v_full boolean;
    v_users integer[];
    v_all_users bigint;
    v_with_neighbors bigint;
    v_parallel_workers integer := recs.setting('similarity_parallel_workers')::integer;
    v_work_mem text;
    v_planner text[];
    v_index_definitions text[];
BEGIN
    PERFORM recs.set_job_limits();
    PERFORM recs.sync_main();

    SELECT * INTO v_state FROM recs.sync_state WHERE source = 'user_similarities' FOR UPDATE;
    v_full := v_state IS NULL OR v_state.full_synced_at IS NULL
              OR NOT EXISTS (SELECT 1 FROM recs.user_vectors)  -- unlogged: empty after a crash
              OR v_state.full_synced_at < now() - make_interval(hours => v_rebuild_hours)
              OR (v_state.details ->> 'pool')::integer IS DISTINCT FROM v_pool
              OR (v_state.details ->> 'candidate_budget')::bigint IS DISTINCT FROM v_budget
              OR (v_state.details ->> 'fixed_degree_cap')::integer IS DISTINCT FROM v_fixed_cap
              OR (v_state.details ->> 'iuf')::boolean IS DISTINCT FROM v_iuf;

    -- The users this run recomputes: every user on a full run, else the changed ones; a user
    -- changed again while it runs stays marked for the next run.
    CREATE TEMP TABLE sim_changed ON COMMIT DROP AS
    SELECT u.user_key FROM recs.users u WHERE v_full
    UNION ALL
    SELECT d.user_key FROM recs.dirty_users d WHERE NOT v_full AND d.changed_at <= v_started;
    ALTER TABLE sim_changed ADD PRIMARY KEY (user_key);
    ANALYZE sim_changed;  -- a few changed users: index probes, not scans of every interaction

    IF v_full THEN
        SELECT count(DISTINCT x.user_key) INTO v_all_users FROM recs.interactions x;
        DELETE FROM recs.item_stats;
        INSERT INTO recs.item_stats (item_id, users, iuf)
        SELECT x.item_id, count(*),
               CASE WHEN v_iuf THEN ln((1 + v_all_users)::double precision / (1 + count(*))) ELSE 1 END
        FROM recs.interactions x GROUP BY x.item_id;
        DELETE FROM recs.user_stats;
        INSERT INTO recs.user_stats (user_key, interactions, norm)
        SELECT x.user_key, count(*),
               sqrt(sum((recs.interaction_weight(x.liked_at IS NOT NULL, x.clicks, v_like, v_click, v_click_cap)
                         * s.iuf) ^ 2))
        FROM recs.interactions x JOIN recs.item_stats s ON s.item_id = x.item_id
        GROUP BY x.user_key;
        ANALYZE recs.item_stats, recs.user_stats;
    ELSE
        -- Only what the changed users moved: the presents they have now or their vectors held
        -- (user_vectors is their previous state) are the ones whose users or values change; a
        -- present's user count changes by the difference, and only their own norms change. IUF
        -- uses the user count of the last run.
        CREATE TEMP TABLE sim_touched_items ON COMMIT DROP AS
        SELECT c.item_id, sum(c.change)::integer AS change
        FROM (SELECT x.item_id, 1 AS change
              FROM sim_changed u JOIN recs.interactions x ON x.user_key = u.user_key
              UNION ALL
              SELECT v.item_id, -1
              FROM sim_changed u JOIN recs.user_vectors v ON v.user_key = u.user_key) c
        GROUP BY c.item_id;
        ANALYZE sim_touched_items;
        SELECT count(*) INTO v_all_users FROM recs.user_stats;
        INSERT INTO recs.item_stats AS s (item_id, users, iuf)
        SELECT c.item_id, c.change, 1 FROM sim_touched_items c WHERE c.change <> 0
        ON CONFLICT (item_id) DO UPDATE SET users = s.users + excluded.users;
        DELETE FROM recs.item_stats s USING sim_touched_items c
        WHERE s.item_id = c.item_id AND c.change <> 0 AND s.users <= 0;
        UPDATE recs.item_stats s
        SET iuf = CASE WHEN v_iuf THEN ln((1 + v_all_users)::double precision / (1 + s.users)) ELSE 1 END
        FROM sim_touched_items c WHERE s.item_id = c.item_id AND c.change <> 0;
        DELETE FROM recs.user_stats s USING sim_changed u WHERE s.user_key = u.user_key;
        INSERT INTO recs.user_stats (user_key, interactions, norm)
        SELECT x.user_key, count(*),
               sqrt(sum((recs.interaction_weight(x.liked_at IS NOT NULL, x.clicks, v_like, v_click, v_click_cap)
                         * s.iuf) ^ 2))
        FROM sim_changed u
        JOIN recs.interactions x ON x.user_key = u.user_key
        JOIN recs.item_stats s ON s.item_id = x.item_id
        GROUP BY x.user_key;
    END IF;
    PERFORM recs.job_step('similarity.item_and_user_stats');

    -- The degree cap: presents enter the neighbour search from the least liked up while the
    -- candidate rows they generate (each of a present's users meets every other one) stay within
    -- the budget; a fixed cap, if set, limits it further. Presents of one degree enter together.
    -- An incremental run applies today's cap to the presents it touches; the others keep the
    -- cap of the run that last wrote them, until the next full run.
    SELECT coalesce(max(d.users), 0) INTO v_cap
    FROM (SELECT s.users, sum(s.users::bigint * (s.users - 1)) OVER (ORDER BY s.users) AS rows_so_far
          FROM recs.item_stats s) d
    WHERE d.rows_so_far <= v_budget;
    IF v_fixed_cap > 0 THEN
        v_cap := least(v_cap, v_fixed_cap);
    END IF;

    -- A full run rewrites every vector; otherwise only the changed users' (with today's IUF),
    -- the rest keeping theirs until the next full rebuild.
    IF v_full THEN
        TRUNCATE recs.user_vectors, recs.item_vectors;
        DELETE FROM recs.user_neighbors;
        -- Millions of rows into an empty table: its indexes are built once, after the load.
        v_index_definitions := recs.drop_secondary_indexes('recs.user_vectors');
    ELSE
        DELETE FROM recs.user_vectors v USING sim_changed u WHERE v.user_key = u.user_key;
        DELETE FROM recs.user_neighbors n USING sim_changed u WHERE n.user_key = u.user_key;
    END IF;
    -- Every (user, present) pair gets a row, a user whose weights are all 0 included (value 0):
    -- the next incremental run reads a user's previous pairs from here.
    INSERT INTO recs.user_vectors (user_key, item_id, value)
    SELECT x.user_key, x.item_id,
           CASE WHEN u.norm > 0 THEN recs.interaction_weight(x.liked_at IS NOT NULL, x.clicks, v_like,
                                                             v_click, v_click_cap) * s.iuf / u.norm
                ELSE 0 END
    FROM sim_changed c
    JOIN recs.interactions x ON x.user_key = c.user_key
    JOIN recs.item_stats s ON s.item_id = x.item_id
    JOIN recs.user_stats u ON u.user_key = x.user_key
    ORDER BY x.user_key;
    PERFORM recs.create_indexes(v_index_definitions);
    SELECT array_agg(s.user_key) INTO v_users
    FROM sim_changed c JOIN recs.user_stats s ON s.user_key = c.user_key
    WHERE s.interactions >= v_min;
    -- Each present within the cap as one row of its users and values, for the neighbour search.
    IF v_full THEN
        INSERT INTO recs.item_vectors (item_id, user_keys, vector_values)
        SELECT v.item_id, array_agg(v.user_key), array_agg(v.value)  -- one pass: the arrays align
        FROM recs.user_vectors v
        JOIN recs.item_stats s ON s.item_id = v.item_id AND s.users <= v_cap
        GROUP BY v.item_id;
        ANALYZE recs.user_vectors, recs.item_vectors;
    ELSE
        DELETE FROM recs.item_vectors i USING sim_touched_items t WHERE i.item_id = t.item_id;
        INSERT INTO recs.item_vectors (item_id, user_keys, vector_values)
        SELECT t.item_id, present.user_keys, present.vector_values
        FROM sim_touched_items t
        JOIN recs.item_stats s ON s.item_id = t.item_id AND s.users <= v_cap
        CROSS JOIN LATERAL (SELECT array_agg(v.user_key) AS user_keys, array_agg(v.value) AS vector_values
                            FROM recs.user_vectors v WHERE v.item_id = t.item_id) present
        WHERE present.user_keys IS NOT NULL;
    END IF;
    PERFORM recs.job_step('similarity.vectors');
    DELETE FROM recs.dirty_users d USING sim_changed c WHERE d.user_key = c.user_key AND d.changed_at <= v_started;

    -- Each user's ranking is a small hash aggregate, run once per user: with the job's large
    -- work_mem each one costs more to set up (5.7 s against 4.9 s for 14,700 users at the target
    -- scale); a heavy user whose candidates outgrow 4MB spills that one aggregate to disk.
    v_work_mem := current_setting('work_mem');
    v_planner := ARRAY[current_setting('max_parallel_workers_per_gather'), current_setting('parallel_setup_cost'),
                       current_setting('parallel_tuple_cost'), current_setting('min_parallel_table_scan_size')];
    PERFORM set_config('work_mem', '4MB', true);
    IF v_full AND v_parallel_workers > 0 THEN
        -- Every user, ranked by a parallel scan of recs.user_stats: the job's backend and the
        -- workers each take users as they go. A CREATE TABLE AS may run in parallel, an INSERT
        -- may not. The planner costs a function scan as if run once, so parallelism is asked for
        -- outright, for this statement only (recs.neighbor_pool plans its own query serially).
        PERFORM set_config('max_parallel_workers_per_gather', v_parallel_workers::text, true),
                set_config('parallel_setup_cost', '0', true),
                set_config('parallel_tuple_cost', '0', true),
                set_config('min_parallel_table_scan_size', '0', true);
        CREATE TEMP TABLE sim_pools ON COMMIT DROP AS
        SELECT s.user_key, pool.neighbor_keys, pool.similarities
        FROM recs.user_stats s
        CROSS JOIN LATERAL recs.neighbor_pool(s.user_key, v_pool) pool
        WHERE s.interactions >= v_min AND pool.neighbor_keys IS NOT NULL;
        PERFORM set_config('max_parallel_workers_per_gather', v_planner[1], true),
                set_config('parallel_setup_cost', v_planner[2], true),
                set_config('parallel_tuple_cost', v_planner[3], true),
                set_config('min_parallel_table_scan_size', v_planner[4], true);
        PERFORM recs.job_step('similarity.neighbors_ranked');
        INSERT INTO recs.user_neighbors (user_key, neighbor_keys, similarities)
        SELECT p.user_key, p.neighbor_keys, p.similarities FROM sim_pools p ORDER BY p.user_key;
        DROP TABLE sim_pools;
    ELSE
        INSERT INTO recs.user_neighbors (user_key, neighbor_keys, similarities)
        SELECT c.user_key, pool.neighbor_keys, pool.similarities
        FROM unnest(coalesce(v_users, '{}')) AS c(user_key)
        CROSS JOIN LATERAL recs.neighbor_pool(c.user_key, v_pool) pool
        WHERE pool.neighbor_keys IS NOT NULL;
    END IF;
    PERFORM set_config('work_mem', v_work_mem, true);
    PERFORM recs.job_step('similarity.neighbors');

    IF v_full THEN
        ANALYZE recs.user_neighbors;  -- every row is new: plans and GET /stats follow
        PERFORM recs.job_step('similarity.analyze');
    END IF;
    -- Users with at least one neighbour (one row each), for GET /stats.
    SELECT count(*) INTO v_with_neighbors FROM recs.user_neighbors;
    PERFORM recs.job_step('similarity.users_with_neighbors_counted');

    INSERT INTO recs.sync_state AS s (source, synced_at, full_synced_at, details)
    VALUES ('user_similarities', v_started, CASE WHEN v_full THEN v_started END,
            jsonb_build_object('pool', v_pool, 'candidate_budget', v_budget, 'fixed_degree_cap', v_fixed_cap,
                               'iuf', v_iuf, 'degree_cap', v_cap, 'users_with_neighbors', v_with_neighbors))
    ON CONFLICT (source) DO UPDATE
        SET synced_at = excluded.synced_at, details = excluded.details,
            full_synced_at = coalesce(excluded.full_synced_at, s.full_synced_at);
    IF coalesce(cardinality(v_users), 0) > 0 OR v_full THEN
        PERFORM recs.bump_data_version('personalized');
    END IF;
    DROP TABLE IF EXISTS sim_touched_items;
    DROP TABLE sim_changed;
    RETURN coalesce(cardinality(v_users), 0);
END;
$$;
COMMENT ON FUNCTION recs.job_refresh_user_similarities() IS
    'Sync, rebuild IUF and norms, then recompute each user''s neighbour pool (all users, or only changed ones). CALL recs.run_job(''refresh_user_similarities'');';
