-- recs.job_refresh_user_similarities: keeps recs.user_neighbors (each user's neighbour pool)
-- current, in named steps after the sync:
--   a full run (recs.similarity_is_full: first run, every similarity_full_rebuild_hours, or a pool
--   setting changed) recomputes every user: recs.similarity_rebuild_stats (presents' users and
--   IUF, users' norms), recs.similarity_degree_cap (the most candidates a present offers),
--   recs.similarity_rebuild_vectors, then recs.similarity_rank_all (the parallel ranking);
--   an incremental run recomputes only the users recs.dirty_users marks as changed since the
--   last run: recs.similarity_patch_stats, recs.similarity_degree_cap,
--   recs.similarity_patch_vectors, then recs.similarity_rank_users (parallel, as the full ranking;
--   the users stay marked in recs.dirty_users until it has read them).
-- Each run, full or not, also rewrites the votes as a neighbour (recs.neighbor_votes: recent
-- likes and their places in the history) of the users marked in recs.dirty_users, and every
-- user's on the first run or once neighbor_history_limit changed (recs.similarity_neighbor_votes).
-- The item neighbours are the job refresh_item_neighbors': it recomputes them after a full run.
-- Everything is written in the job's one transaction (readers keep the old pools until commit);
-- a user changed again while it runs stays marked for the next run. Counts the users who have
-- neighbours (recs.sync_state details, read by api.stats) and bumps the 'personalized' data
-- version when pools changed.
-- Arguments: none. Result: users whose neighbours were computed.
-- Errors: main unreachable, bad settings (logged by recs.run_job; old neighbours stay).
-- Caller: recs.run_job('refresh_user_similarities') from pg_cron (job "refresh-user-similarities",
--   hourly), psql, POST /admin/update-user-similarities.
CREATE OR REPLACE FUNCTION recs.job_refresh_user_similarities() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_min integer := recs.setting('min_interactions_for_similarity')::integer;
    v_pool integer := recs.setting('neighbor_pool_size')::integer;
    -- The settings the pools depend on, as this run starts: a change during the run makes the next
    -- run a full one (recs.similarity_is_full compares with them).
    v_pool_settings jsonb := jsonb_build_object(
        'pool', v_pool,
        'candidate_budget', recs.setting('similarity_candidate_budget')::bigint,
        'fixed_degree_cap', recs.setting('similarity_item_degree_cap')::integer,
        'iuf', recs.setting('similarity_iuf')::boolean,
        'min_interactions', v_min,
        'history_limit', recs.setting('neighbor_history_limit')::integer,
        'interaction_weights', recs.interaction_weight_settings());
    v_started timestamptz := now();
    v_state recs.sync_state;
    v_full boolean;
    v_cap integer;
    v_users bigint;  -- changed users with enough interactions to rank
    v_with_neighbors bigint;
    v_votes bigint;  -- users whose votes as a neighbour were rewritten
BEGIN
    PERFORM recs.set_job_limits();
    -- Taken before the sync, as the popularity and profile jobs do (recs.job_refresh_popular_items
    -- says why): an erasure of a user whose new events this sync writes waits for this run, so
    -- the sync never commits a row of a user erased meanwhile, nor this run a vector of theirs.
    PERFORM pg_advisory_xact_lock(recs.job_lock_key('derived_rows'));
    PERFORM recs.sync_main();

    SELECT * INTO v_state FROM recs.sync_state WHERE source = 'user_similarities' FOR UPDATE;
    v_full := recs.similarity_is_full(v_state);
    -- The users this run recomputes: everyone on a full run, else the changed ones.
    CREATE TEMP TABLE sim_changed ON COMMIT DROP AS
    SELECT u.user_key FROM recs.users u WHERE v_full
    UNION ALL
    SELECT d.user_key FROM recs.dirty_users d WHERE NOT v_full AND d.changed_at <= v_started;
    ALTER TABLE sim_changed ADD PRIMARY KEY (user_key);
    ANALYZE sim_changed;  -- a few changed users: index probes, not scans of every interaction

    IF v_full THEN
        PERFORM recs.similarity_rebuild_stats();
    ELSE
        PERFORM recs.similarity_patch_stats();
    END IF;
    PERFORM recs.job_step('similarity.item_and_user_stats');
    v_cap := recs.similarity_degree_cap();
    IF v_full THEN
        PERFORM recs.similarity_rebuild_vectors(v_cap);
    ELSE
        PERFORM recs.similarity_patch_vectors(v_cap);
    END IF;
    PERFORM recs.job_step('similarity.vectors');

    SELECT count(*) INTO v_users
    FROM sim_changed c JOIN recs.user_stats s ON s.user_key = c.user_key
    WHERE s.interactions >= v_min;
    IF v_full THEN
        PERFORM recs.similarity_rank_all(v_pool, v_min, recs.setting('similarity_parallel_workers')::integer);
    ELSE
        PERFORM recs.similarity_rank_users(v_min, v_pool, recs.setting('similarity_parallel_workers')::integer,
                                           v_started);
    END IF;
    PERFORM recs.job_step('similarity.neighbors');
    -- The votes as a neighbour: the marked users' rows (every row on the first run or after
    -- neighbor_history_limit changed), read from the marks before they are cleared.
    v_votes := recs.similarity_neighbor_votes(
        v_state IS NULL OR (v_state.details ->> 'history_limit')::integer
                           IS DISTINCT FROM (v_pool_settings ->> 'history_limit')::integer,
        (v_pool_settings ->> 'history_limit')::integer, v_started);
    -- A full run ranked everyone: its marks all go, those of users erased since included (an
    -- incremental run's list of changed users holds them, a full run's is recs.users).
    DELETE FROM recs.dirty_users d
    WHERE d.changed_at <= v_started
      AND (v_full OR EXISTS (SELECT 1 FROM sim_changed c WHERE c.user_key = d.user_key));
    PERFORM recs.job_step('similarity.neighbor_votes');
    IF v_full THEN
        ANALYZE recs.user_neighbors;  -- every row is new: plans and GET /stats follow
        PERFORM recs.job_step('similarity.analyze');
    END IF;
    SELECT count(*) INTO v_with_neighbors FROM recs.user_neighbors;  -- one row per user with neighbours
    PERFORM recs.job_step('similarity.users_with_neighbors_counted');

    INSERT INTO recs.sync_state AS s (source, synced_at, full_synced_at, details)
    VALUES ('user_similarities', v_started, CASE WHEN v_full THEN v_started END,
            v_pool_settings || jsonb_build_object('degree_cap', v_cap, 'users_with_neighbors', v_with_neighbors))
    ON CONFLICT (source) DO UPDATE
        SET synced_at = excluded.synced_at, details = excluded.details,
            full_synced_at = coalesce(excluded.full_synced_at, s.full_synced_at);
    IF v_users > 0 OR v_votes > 0 OR v_full THEN
        PERFORM recs.bump_data_version('personalized');
    END IF;
    DROP TABLE IF EXISTS sim_touched_items;
    DROP TABLE sim_changed;
    RETURN v_users;
END;
$$;
COMMENT ON FUNCTION recs.job_refresh_user_similarities() IS
    'Sync, then recompute neighbour pools in named steps: every user (full run) or the changed ones. CALL recs.run_job(''refresh_user_similarities'');';
