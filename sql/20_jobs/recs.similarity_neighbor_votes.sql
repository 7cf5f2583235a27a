-- recs.similarity_neighbor_votes: a step of every similarity run, the users' votes as neighbours
-- (recs.neighbor_votes, read by recs.rank_collaborative): per user, the liked presents among their
-- p_history most recent interactions and each one's place in that history (steps back from the
-- most recent; interactions at the same time share their place, as rank() gives it, so a limit
-- keeps or leaves them out together). A row depends only on the user's own interactions, and
-- every change to them marks the user in recs.dirty_users (the sync, a present gone private, an
-- erasure): so a run, full or not, rewrites the rows of the users marked up to p_started (an
-- erased user's row goes), and every row (one ordered read of the interactions) only when
-- p_rebuild (the first run, or neighbor_history_limit changed since the last one).
-- Arguments: p_rebuild (every row), p_history (neighbor_history_limit), p_started (the job's
--   start: users marked later wait for the next run, as for their pools).
-- Result: rows written (rebuild) or users whose row was rewritten or removed. Errors: none of
--   its own. Caller: recs.job_refresh_user_similarities, before it clears the marks.
CREATE OR REPLACE FUNCTION recs.similarity_neighbor_votes(p_rebuild boolean, p_history integer, p_started timestamptz)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_rows bigint;
BEGIN
    IF p_rebuild THEN
        DELETE FROM recs.neighbor_votes;
        -- The arrays take the rows in the subquery's order (the interactions come by user, so each
        -- user's likes are sorted once) rather than each array sorting its own.
        INSERT INTO recs.neighbor_votes (user_key, item_ids, steps)
        SELECT v.user_key, array_agg(v.item_id), array_agg(v.step)
        FROM (SELECT r.user_key, r.item_id, r.step
              FROM (SELECT x.user_key, x.item_id, x.liked_at,
                           (rank() OVER (PARTITION BY x.user_key ORDER BY x.last_at DESC) - 1)::integer AS step
                    FROM recs.interactions x) r
              WHERE r.liked_at IS NOT NULL AND r.step < p_history
              ORDER BY r.user_key, r.step, r.item_id) v
        GROUP BY v.user_key;
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        ANALYZE recs.neighbor_votes;
    ELSE
        CREATE TEMP TABLE sim_voters ON COMMIT DROP AS
        SELECT d.user_key FROM recs.dirty_users d WHERE d.changed_at <= p_started;
        DELETE FROM recs.neighbor_votes v USING sim_voters c WHERE v.user_key = c.user_key;
        INSERT INTO recs.neighbor_votes (user_key, item_ids, steps)
        SELECT c.user_key, h.item_ids, h.steps
        FROM sim_voters c
        CROSS JOIN LATERAL (
            SELECT array_agg(r.item_id ORDER BY r.step, r.item_id) AS item_ids,
                   array_agg(r.step ORDER BY r.step, r.item_id) AS steps
            FROM (SELECT x.item_id, x.liked_at, (rank() OVER (ORDER BY x.last_at DESC) - 1)::integer AS step
                  FROM recs.interactions x
                  WHERE x.user_key = c.user_key
                  ORDER BY x.last_at DESC
                  FETCH FIRST p_history ROWS WITH TIES) r
            WHERE r.liked_at IS NOT NULL
        ) h
        WHERE h.item_ids IS NOT NULL
        ORDER BY c.user_key;
        SELECT count(*) INTO v_rows FROM sim_voters;
        DROP TABLE sim_voters;
    END IF;
    RETURN v_rows;
END;
$$;
COMMENT ON FUNCTION recs.similarity_neighbor_votes(boolean, integer, timestamptz) IS
    'Similarity run step: each user''s recent likes and their places in their history (recs.neighbor_votes), for the users marked as changed, or every user when p_rebuild.';
