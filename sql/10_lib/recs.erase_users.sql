-- recs.erase_users: removes what this database holds of some users, in one transaction:
--   now: their demographics, their synced interactions (the snapshot of their likes and clicks),
--   their preference profile, their popularity segment, their neighbour pool and their votes as a
--   neighbour (recs.neighbor_votes) and their row in recs.users
--   (their dismissals go with it), so no api.* function knows them any more, and the pages served
--   to them (recs.served_pages with their recs.served_attributions);
--   at the next run of each job: their share of the popularity rows (refresh_popular_items
--   applies what this logs in recs.popular_changes, counts by segment and present, no ids), their
--   vectors and norms (refresh_user_similarities, as they are marked in recs.dirty_users) and
--   their recent history (refresh_item_neighbors); their place in other users' pools at the next
--   full similarity run (daily), in the presents' item neighbours at the next recompute of
--   refresh_item_neighbors (every item_neighbor_rebuild_hours and after each full similarity run),
--   and in the learned item weights at the run of refresh_learned_weights after that (without
--   their interactions they add nothing to anyone's scores meanwhile).
-- The erasure is logged in recs.user_erasures (counts only, no ids) and bumps the 'synced' data
-- version. Their key in recs.users is
-- never reused: a user seen again (a PUT, or their events in main at the next full resync) gets
-- a new one.
-- Arguments: p_user_keys (keys in recs.users; unknown keys are ignored), p_source ('api' or
--   'retention', for the log).
-- Result: one row (users_erased, interactions_erased): users erased, interaction rows removed.
-- Errors: none of its own; waits for a running refresh job (its sync included), and
--   for another job's sync that is rewriting the same users' interactions, and tries once more
--   when a concurrent write of theirs committed meanwhile.
-- Caller: api.erase_user (DELETE /user-profile/{user_id}), recs.job_erase_absent_users.
CREATE OR REPLACE FUNCTION recs.erase_users(p_user_keys integer[], p_source text)
RETURNS TABLE (users_erased bigint, interactions_erased bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_attempt integer;
    v_decay recs.sync_state;
    v_like_weight double precision := recs.setting('like_weight')::double precision;
    v_click_weight double precision := recs.setting('popular_click_weight')::double precision;
BEGIN
    -- The refresh jobs rewrite the rows removed here: an erasure waits for a running one (and
    -- they for it, from before their sync), so none writes back what it read before the
    -- erasure, and their sync never writes a row of a user erased meanwhile.
    PERFORM pg_advisory_xact_lock_shared(recs.job_lock_key('derived_rows'));
    SELECT * INTO v_decay FROM recs.sync_state WHERE source = 'decay';
    -- A PUT or a sync that wrote a row of one of these users while this ran makes the removal of
    -- their key fail (the new row still refers to it): the second attempt, on a new snapshot,
    -- erases that row too.
    FOR v_attempt IN 1..2 LOOP
        BEGIN
            -- What their interactions added to popularity is logged as taken away, under the
            -- segment they were counted in, in the statement that deletes them.
            WITH removed AS (
                DELETE FROM recs.interactions x WHERE x.user_key = ANY (p_user_keys)
                RETURNING x.user_key, x.item_id, x.liked_at, x.click_decay
            ),
            logged AS (
                INSERT INTO recs.popular_changes (gender, age_group, item_id, score, users)
                SELECT s.gender, s.age_group, r.item_id,
                       -- 0 without a decay epoch (its state deleted): popularity is then rebuilt whole
                       coalesce(-sum(recs.popularity_score(r.liked_at, r.click_decay, v_decay.decay_epoch,
                                                           v_decay.half_life_days, v_like_weight,
                                                           v_click_weight)), 0),
                       -count(*)
                FROM removed r
                JOIN recs.popular_user_segments s ON s.user_key = r.user_key
                GROUP BY s.gender, s.age_group, r.item_id
            )
            SELECT count(*) INTO interactions_erased FROM removed;
            DELETE FROM recs.popular_user_segments s WHERE s.user_key = ANY (p_user_keys);
            DELETE FROM recs.user_profiles p WHERE p.user_key = ANY (p_user_keys);
            DELETE FROM recs.dirty_profiles p WHERE p.user_key = ANY (p_user_keys);
            -- The similarity job's next run removes their vectors and norms (it needs the vectors
            -- to correct the presents' user counts) and their pools.
            INSERT INTO recs.dirty_users AS d (user_key, changed_at)
            SELECT u.user_key, now() FROM recs.users u WHERE u.user_key = ANY (p_user_keys)
            ON CONFLICT (user_key) DO UPDATE SET changed_at = excluded.changed_at;
            -- The refresh jobs hold the lock taken above while they run, so no similarity run is
            -- rewriting these rows now; one locked by another transaction (a DBA's) is skipped, and
            -- the mark above removes it at the next run.
            DELETE FROM recs.user_neighbors n
            WHERE n.user_key IN (SELECT l.user_key FROM recs.user_neighbors l
                                 WHERE l.user_key = ANY (p_user_keys) FOR UPDATE SKIP LOCKED);
            -- Their votes as a neighbour go too (recs.rank_collaborative reads them, not their
            -- interactions); a locked one is skipped, as above.
            DELETE FROM recs.neighbor_votes v
            WHERE v.user_key IN (SELECT l.user_key FROM recs.neighbor_votes l
                                 WHERE l.user_key = ANY (p_user_keys) FOR UPDATE SKIP LOCKED);
            DELETE FROM recs.served_pages p
            USING recs.users u WHERE u.user_key = ANY (p_user_keys) AND p.user_id = u.user_id;
            DELETE FROM recs.user_demographics d WHERE d.user_key = ANY (p_user_keys);
            DELETE FROM recs.users u WHERE u.user_key = ANY (p_user_keys);
            GET DIAGNOSTICS users_erased = ROW_COUNT;
            IF users_erased > 0 THEN
                INSERT INTO recs.user_erasures (source, users, interactions)
                VALUES (p_source, users_erased, interactions_erased);
                -- Other users' pages read the erased interactions (their neighbours' histories),
                -- and a profile copy a GET wrote while this ran must not be served: both are
                -- keyed on it.
                PERFORM recs.bump_data_version('synced');
            END IF;
            EXIT;
        EXCEPTION WHEN foreign_key_violation THEN
            IF v_attempt = 2 THEN
                RAISE;
            END IF;
        END;
    END LOOP;
    RETURN NEXT;
END;
$$;
COMMENT ON FUNCTION recs.erase_users(integer[], text) IS
    'Erase users by key: demographics, interactions, profile, pool, served pages and recs.users row now; vectors and popularity shares at the next job runs. Logged in recs.user_erasures.';
