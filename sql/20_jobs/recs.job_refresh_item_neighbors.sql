-- recs.job_refresh_item_neighbors: keeps recs.item_neighbors (each present's neighbour list, read
-- by the collaborative and content-based tiers and by api.similar) and the users' recent
-- histories they are computed from (recs.user_histories) current.
-- The lists are recomputed (recs.item_neighbors_rebuild, each user read through
-- recs.item_history_cap interactions) when a full similarity run finished since they were
-- (recs.sync_state 'user_similarities'.full_synced_at: the first run, daily, or after a change of
-- the pools' settings), item_neighbor_rebuild_hours passed since they were (so a new present has
-- a list the same day), a setting they depend on changed (recs.item_neighbor_settings), or the
-- histories are gone (an unlogged table is empty after a crash) while lists were written: they
-- move slowly, and recomputing every present a few new events touch cost a third of a full
-- similarity run when the lists were a part of it. They are read from the interactions and the
-- presents' and users' counts the last similarity run left (recs.item_stats, recs.user_stats);
-- this job reads nothing from main.
-- Otherwise a run only removes the histories of erased users (no longer in recs.users) and
-- returns 0. A job of its own, so that the lists' time is not taken from the similarity run's.
-- Like the other refresh jobs it holds the 'derived_rows' lock until it commits, so an erasure
-- waits for it and it never writes back the history of a user erased meanwhile. One
-- transaction: readers keep the old lists until it commits; a failed run leaves them. Marks the
-- step items.checked when the lists were current, items.user_histories and items.neighbors when
-- it recomputed them, and then bumps the 'personalized' data version. The job
-- refresh_learned_weights learns its weights from the lists this job wrote.
-- Arguments: none. Result: presents whose neighbours were computed (0 when the lists were current).
-- Errors: bad settings (22P02), logged by recs.run_job; the old lists stay.
-- Caller: recs.run_job('refresh_item_neighbors') from pg_cron (job "refresh-item-neighbors",
--   hourly, after the similarity job), psql, POST /admin/jobs/refresh_item_neighbors.
CREATE OR REPLACE FUNCTION recs.job_refresh_item_neighbors() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_settings jsonb;
    v_lists_as_of timestamptz;
    v_state recs.sync_state;
    v_started timestamptz := now();
    v_history_cap integer;
    v_items bigint;
BEGIN
    PERFORM recs.set_job_limits();
    PERFORM pg_advisory_xact_lock(recs.job_lock_key('derived_rows'));
    v_settings := recs.item_neighbor_settings();
    SELECT s.full_synced_at INTO v_lists_as_of FROM recs.sync_state s WHERE s.source = 'user_similarities';
    SELECT * INTO v_state FROM recs.sync_state s WHERE s.source = 'item_neighbors' FOR UPDATE;
    IF FOUND AND (v_state.details ->> 'lists_as_of')::timestamptz IS NOT DISTINCT FROM v_lists_as_of
       AND v_state.full_synced_at
           >= now() - make_interval(hours => recs.setting('item_neighbor_rebuild_hours')::integer)
       AND v_state.details -> 'computed_with' = v_settings
       AND (EXISTS (SELECT FROM recs.user_histories) OR (v_state.details ->> 'presents')::bigint = 0) THEN
        -- The lists stay; an erased user's history goes now (the lists forget them at the next
        -- recompute, and without their interactions they add nothing to anyone's scores).
        DELETE FROM recs.user_histories h
        WHERE NOT EXISTS (SELECT FROM recs.users u WHERE u.user_key = h.user_key);
        PERFORM recs.job_step('items.checked');
        RETURN 0;
    END IF;

    v_history_cap := recs.item_history_cap();
    v_items := recs.item_neighbors_rebuild(recs.setting('similarity_parallel_workers')::integer, v_history_cap);

    INSERT INTO recs.sync_state AS s (source, synced_at, full_synced_at, details)
    VALUES ('item_neighbors', v_started, v_started,
            jsonb_build_object('lists_as_of', v_lists_as_of, 'computed_with', v_settings,
                               'item_history_cap', v_history_cap, 'presents', v_items))
    ON CONFLICT (source) DO UPDATE
        SET synced_at = excluded.synced_at, full_synced_at = excluded.full_synced_at, details = excluded.details;
    PERFORM recs.bump_data_version('personalized');
    RETURN v_items;
END;
$$;
COMMENT ON FUNCTION recs.job_refresh_item_neighbors() IS
    'Recompute every present''s item neighbours (and the users'' recent histories they read) after a full similarity run, every item_neighbor_rebuild_hours or after a change of their settings. CALL recs.run_job(''refresh_item_neighbors'');';
