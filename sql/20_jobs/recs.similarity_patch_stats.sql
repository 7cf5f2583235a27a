-- recs.similarity_patch_stats: step 1 of an incremental similarity run. Moves only what the
-- changed users (temp table sim_changed) moved: the presents they have now or their vectors held
-- (recs.user_vectors is their previous state) go into the temp table sim_touched_items with the
-- change of their user count; recs.item_stats follows that change (IUF with the user count of
-- the last run), and only the changed users' rows of recs.user_stats are recomputed. Nothing is
-- rescanned over all interactions.
-- Arguments: none. Result: none. Errors: bad settings (22P02).
-- Caller: recs.job_refresh_user_similarities.
CREATE OR REPLACE FUNCTION recs.similarity_patch_stats() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_like double precision := recs.setting('like_weight')::double precision;
    v_click double precision := recs.setting('click_weight')::double precision;
    v_click_cap integer := recs.setting('similarity_click_cap')::integer;
    v_iuf boolean := recs.setting('similarity_iuf')::boolean;
    v_all_users bigint;
BEGIN
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
END;
$$;
COMMENT ON FUNCTION recs.similarity_patch_stats() IS
    'Incremental similarity run, step 1: item and user stats moved by the changed users only (temp tables sim_changed, sim_touched_items).';
